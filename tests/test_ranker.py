"""The learned ranker: trained at build time from the KB's own phrasings, stored as plain files, verified."""
import json

import numpy as np
import pytest

from core import config as cfg
from indexer.build import build, is_current
from indexer.embed import HashEmbedder
from indexer.parse import parse_kb
from indexer.store import IndexLoadError, load_index, read_manifest, resolve
from retrieval import Query, QueryEncoder, Searcher, arms
from retrieval.catalog import Catalog
from retrieval.features import CANDIDATE_FEATURES
from retrieval.model import RANKER_FILE, ModelLoadError
from retrieval.train import ranker_trainers
from tests.helpers import FIXTURES, ROOT, TODAY


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The shipped KB (183 phrasings) with the fake embedder and the ranker trained on it."""
    root = tmp_path_factory.mktemp("trained")
    config = cfg.load({"embedder": "hash"}, environ={})
    report = build(ROOT / "kb", root, HashEmbedder(), config, trainers=ranker_trainers(config))
    return root, config, report


def test_build_trains_the_ranker_and_records_it_in_the_manifest(trained):
    root, _, report = trained
    entry = read_manifest(resolve(root))["models"]["ranker"]
    assert entry["features"] == list(CANDIDATE_FEATURES)
    assert entry["training"]["pseudo_queries"] > 100 and 0 < entry["training"]["out_of_fold_top1"] <= 1
    assert RANKER_FILE in read_manifest(resolve(root))["files"], "the model file is checksummed like the rest"
    assert report.training_seconds > 0 and "training ranker" in report.summary()
    assert (resolve(root) / RANKER_FILE).read_text("utf-8").startswith("tree")  # LightGBM text, not pickle


def test_searcher_ranks_with_the_model_and_rrf_stays_available(trained):
    root, config, _ = trained
    index = load_index(root)
    learned = Searcher(index, QueryEncoder(HashEmbedder(), 8), config, today=lambda: TODAY)
    assert learned.model is not None
    assert Searcher(index, QueryEncoder(HashEmbedder(), 8), config.replace(ranker="rrf")).model is None
    result = learned.search(Query("面霜开封后能用多久", top_k=5))
    forced = learned.search(Query("面霜开封后能用多久", top_k=5, fusion="rrf"))
    assert [s.score for s in result.suggestions] != [s.score for s in forced.suggestions]
    assert 0.0 <= result.confidence <= 1.0


def test_a_damaged_or_foreign_model_is_refused(trained, tmp_path):
    import shutil

    root, config, _ = trained
    copy = tmp_path / "copy"
    shutil.copytree(resolve(root), copy)
    with open(copy / RANKER_FILE, "a", encoding="utf-8") as handle:
        handle.write("\n")
    with pytest.raises(IndexLoadError, match=RANKER_FILE):
        load_index(copy)
    shutil.copy(resolve(root) / RANKER_FILE, copy / RANKER_FILE)
    manifest = json.loads((copy / "manifest.json").read_text("utf-8"))
    manifest["models"]["ranker"]["features"] = ["something", "else"]
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ModelLoadError, match="rebuild"):
        Searcher(load_index(copy), None, config)
    assert issubclass(ModelLoadError, IndexLoadError), "hot reload refuses it like any bad index"


def test_a_kb_too_small_to_learn_from_keeps_the_hand_set_fusion(tmp_path, dictionary_dir):
    config = cfg.load({"embedder": "hash", "dictionary_dir": str(dictionary_dir)}, environ={})
    build(FIXTURES / "kb", tmp_path / "idx", HashEmbedder(), config, trainers=ranker_trainers(config))
    assert "models" not in read_manifest(resolve(tmp_path / "idx")) or \
        not read_manifest(resolve(tmp_path / "idx"))["models"]
    assert Searcher(load_index(tmp_path / "idx"), None, config).model is None


def test_a_training_query_never_finds_its_own_phrasing(trained):
    root, _, _ = trained
    index = load_index(root)
    catalog = Catalog.of_index(index)
    row = 5
    owner = index.phrasings[row].article_id
    everything = np.ones(len(catalog.article_ids), dtype=bool)
    with_own = arms.questions(index, catalog, index.phrasing_vectors[row], everything, 10)
    assert with_own.scores[owner] == pytest.approx(1.0, abs=1e-5)
    others = np.ones(len(index.phrasings), dtype=bool)
    others[row] = False
    without = arms.questions(index, catalog, index.phrasing_vectors[row], everything, 10, others)
    assert without.scores.get(owner, 0.0) < 0.999


def test_an_index_trained_by_other_code_or_settings_is_stale(trained):
    root, config, _ = trained
    manifest, parsed = read_manifest(resolve(root)), parse_kb(ROOT / "kb")
    embedder = HashEmbedder()
    assert is_current(manifest, parsed, embedder, config, ranker_trainers(config))
    assert not is_current(manifest, parsed, embedder, config, {})
    other = config.replace(ranker_training_queries=50)
    assert not is_current(manifest, parsed, embedder, other, ranker_trainers(other))


def test_serving_a_learned_ranker_imports_neither_lightgbm_nor_scikit_learn(trained):
    """The server scores with retrieval.trees: no LightGBM, scikit-learn or SciPy in its memory."""
    import subprocess
    import sys

    root, _, _ = trained
    script = ("import sys\nfrom core import config as cfg\nfrom indexer.embed import HashEmbedder\n"
              "from retrieval import QueryEncoder\nfrom server.holder import IndexHolder\n"
              f"holder = IndexHolder({str(root)!r}, QueryEncoder(HashEmbedder(), 8), "
              "cfg.load({'embedder': 'hash'}, environ={}))\n"
              "assert holder.reload() and holder.assistant.searcher.model is not None\n"
              "print(sorted({'lightgbm', 'sklearn', 'scipy'} & set(sys.modules)))\n")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
