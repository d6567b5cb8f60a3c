"""The query log (issue 13 §1) through the server: one masked row per answered question, written off the
hot path, exported with the admin token. Its storage promises (append-only, prune, batches, the full
queue, periods) are tested on both backends in test_storage.py."""
import csv
import dataclasses
import datetime as dt
import io
import json
import sqlite3
import time

import pytest

from indexer.store import load_index
from retrieval import QueryEncoder, Searcher
from server import create_app
from storage import querylog
from tests.helpers import TODAY, http, make_searcher

TOKEN = "correct-horse-battery-staple"
PHONE, ORDER, ID_CARD = "13912345678", "6921345678901234567", "110105199003071234"
PLANTED = (PHONE, ORDER, ID_CARD, "1391234", "69213456789")


def rows(path):
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("SELECT * FROM query_log ORDER BY id")]


@pytest.fixture
def triage_app(assist_index_root, config, hash_embedder):
    """The fixture KB with the shipped triage data (kb/_assist), so that every label has a value to log."""
    config = config.replace(admin_token=TOKEN)
    return create_app(config, searcher=make_searcher(assist_index_root, hash_embedder, config), today=lambda: TODAY)


def test_each_suggestion_and_batch_question_appends_one_masked_row(triage_app, config):
    client = triage_app.test_client()
    body = client.post("/v1/suggest", json={"question": f"我要退款！手机{PHONE}，订单{ORDER}", "top_k": 3}).get_json()
    batch = client.post("/v1/suggest/batch", json={"questions": ["退款多久到账", f"身份证{ID_CARD}能开发票吗"]})
    assert batch.status_code == 200
    assert triage_app.extensions["kbs_stores"].query_log.flush()
    logged = rows(config.query_log_db)
    assert [r["endpoint"] for r in logged] == ["suggest", "batch", "batch"]
    first = logged[0]
    assert first["question"] == "我要退款！手机139****5678，订单[单号]"
    assert json.loads(first["top_ids"]) == [s["article_id"] for s in body["suggestions"]]
    assert json.loads(first["top_scores"]) == pytest.approx([s["score"] for s in body["suggestions"]], abs=1e-4)
    assert first["confident"] == int(body["confident"])
    assert first["confidence"] == pytest.approx(body["confidence"], abs=1e-4)
    assert first["index_version"] == body["index_version"]
    assert first["latency_ms"] > 0
    triage = body["triage"]
    assert (first["intent"], first["urgency"], first["emotion"], first["handoff"], first["handoff_reason"]) == (
        triage["intent"]["label"], triage["urgency"]["label"], triage["emotion"]["label"],
        int(triage["handoff"]["needed"]), triage["handoff"]["reason"])
    assert dt.datetime.fromisoformat(first["at"]).tzinfo is not None
    assert logged[2]["question"] == "身份证[身份证号]能开发票吗"


def test_without_triage_data_the_labels_are_empty(index_root, config, hash_embedder):
    """An index written before the triage data existed has none to label a question with."""
    index = load_index(index_root, hash_embedder.id, hash_embedder.dim)
    searcher = Searcher(dataclasses.replace(index, assist=None, assist_vectors=None),
                        QueryEncoder(hash_embedder, 64), config, today=lambda: TODAY)
    app = create_app(config, searcher=searcher, today=lambda: TODAY)
    app.test_client().post("/v1/suggest", json={"question": "退款多久到账"})
    assert app.extensions["kbs_stores"].query_log.flush()
    (row,) = rows(config.query_log_db)
    assert row["intent"] is None and row["handoff"] is None and row["question"] == "退款多久到账"


def test_refused_requests_are_not_logged(app, client, config):
    assert client.post("/v1/suggest", json={"question": ""}).status_code == 400
    assert client.post("/v1/suggest", json={"question": "x" * 3000}).status_code == 413
    assert app.extensions["kbs_stores"].query_log.flush()
    assert rows(config.query_log_db) == []


def test_query_log_off_records_nothing(index_root, config, hash_embedder):
    config = config.replace(query_log=False)
    app = create_app(config, searcher=make_searcher(index_root, hash_embedder, config))
    assert app.test_client().post("/v1/suggest", json={"question": "发货"}).status_code == 200
    log = app.extensions["kbs_stores"].query_log
    assert log.stats() == {"enabled": False, "written": 0, "dropped": 0, "queued": 0} and log._writer is None


@pytest.mark.parametrize("headers, status", [({}, 401), ({"Authorization": "Bearer wrong"}, 401),
                                             ({"Authorization": "Bearer " + TOKEN}, 200)])
def test_export_needs_the_admin_token(triage_app, headers, status):
    response = triage_app.test_client().get("/v1/querylog/export", headers=headers)
    assert response.status_code == status
    if status == 401:
        assert response.get_json()["error"]["code"] == "unauthorized"


def test_export_is_disabled_without_a_token(client):
    response = client.get("/v1/querylog/export", headers={"Authorization": "Bearer anything"})
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "admin_disabled"


def test_export_streams_masked_rows_with_formula_cells_neutralised(triage_app):
    client = triage_app.test_client()
    for question in ("=HYPERLINK(\"http://evil.example\")", f"-{PHONE} 的订单", "退款多久"):
        assert client.post("/v1/suggest", json={"question": question}).status_code == 200
    log = triage_app.extensions["kbs_stores"].query_log
    assert log.flush()
    response = client.get("/v1/querylog/export", headers={"Authorization": "Bearer " + TOKEN})
    assert response.is_streamed and response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"
    table = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert table[0] == list(querylog.COLUMNS)
    assert [row[3] for row in table[1:]] == ["'=HYPERLINK(\"http://evil.example\")", "'-139****5678 的订单", "退款多久"]


def test_readyz_reports_the_query_log(app, client):
    client.post("/v1/suggest", json={"question": "发货"})
    assert app.extensions["kbs_stores"].query_log.flush()
    assert client.get("/readyz").get_json()["query_log"] == {"enabled": True, "written": 1, "dropped": 0,
                                                             "queued": 0}


def test_no_unmasked_number_reaches_the_database_or_the_server_log(built, tmp_path, server_process):
    """The real server: planted phone, order and ID numbers in accepted and refused requests; then every
    byte of the SQLite files (WAL included) and everything the server printed is searched for them."""
    db = tmp_path / "logs" / "querylog.sqlite3"
    server = server_process(tmp_path / "index", "--embedder", "hash", "--reload-interval", "0",
                            "--query-log-db", str(db), cwd=tmp_path, capture_output=True)
    questions = [f"手机{PHONE}，订单号{ORDER}还没发货", f"身份证{ID_CARD}", f"{PHONE}"]
    for question in questions:
        assert http("POST", server.url + "/v1/suggest", {"question": question})[0] == 200
    assert http("POST", server.url + "/v1/suggest/batch", {"questions": questions})[0] == 200
    assert http("POST", server.url + "/v1/suggest", {"question": PHONE * 200})[0] == 413
    assert http("POST", server.url + "/v1/suggest", {"question": ORDER, "top_k": 99})[0] == 400
    assert http("POST", server.url + "/v1/suggest", {"question": ID_CARD, "nope": 1})[0] == 400
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(rows(db)) < 6:
        time.sleep(0.05)
    server.stop()
    assert len(rows(db)) == 6
    stored = b"".join(path.read_bytes() for path in db.parent.iterdir())
    for raw in PLANTED:
        assert raw.encode() not in stored, f"{raw} reached the database"
        assert raw not in server.output, f"{raw} reached the server log"
    assert "139****5678" in {r["question"][2:13] for r in rows(db)}
    assert "waitress" in server.output.lower(), "the server's output was captured"


