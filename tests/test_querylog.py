"""The query log (issue 13 §1): one masked, append-only row per answered question, written off the hot
path, pruned only by the maintenance command, exported with the admin token."""
import csv
import datetime as dt
import io
import json
import shutil
import sqlite3
import threading
import time

import pytest

from indexer.build import build
from server import create_app
from storage import querylog
from storage.querylog import Entry, QueryLog, prune
from tests.helpers import ROOT, TODAY, http, make_searcher

TOKEN = "correct-horse-battery-staple"
PHONE, ORDER, ID_CARD = "13912345678", "6921345678901234567", "110105199003071234"
PLANTED = (PHONE, ORDER, ID_CARD, "1391234", "69213456789")


def rows(path):
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("SELECT * FROM query_log ORDER BY id")]


def entry(question="发货", at=None, **changes):
    fields = dict(at=time.time() if at is None else at, endpoint="suggest", question=question, top_ids=("a", "b"),
                  top_scores=(0.9, 0.1), confident=True, confidence=0.8, index_version="v1", latency_ms=3.2)
    return Entry(**{**fields, **changes})


@pytest.fixture
def triage_app(kb_copy, tmp_path, config, hash_embedder):
    shutil.copytree(ROOT / "kb" / "_assist", kb_copy / "_assist")
    build(kb_copy, tmp_path / "index", hash_embedder, config)
    config = config.replace(admin_token=TOKEN)
    return create_app(config, searcher=make_searcher(tmp_path / "index", hash_embedder, config), today=lambda: TODAY)


def test_each_suggestion_and_batch_question_appends_one_masked_row(triage_app, config):
    client = triage_app.test_client()
    body = client.post("/v1/suggest", json={"question": f"我要退款！手机{PHONE}，订单{ORDER}", "top_k": 3}).get_json()
    batch = client.post("/v1/suggest/batch", json={"questions": ["退款多久到账", f"身份证{ID_CARD}能开发票吗"]})
    assert batch.status_code == 200
    assert triage_app.extensions["kbs_querylog"].flush()
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


def test_without_triage_data_the_labels_are_empty(app, client, config):
    client.post("/v1/suggest", json={"question": "退款多久到账"})
    assert app.extensions["kbs_querylog"].flush()
    (row,) = rows(config.query_log_db)
    assert row["intent"] is None and row["handoff"] is None and row["question"] == "退款多久到账"


def test_refused_requests_are_not_logged(app, client, config):
    assert client.post("/v1/suggest", json={"question": ""}).status_code == 400
    assert client.post("/v1/suggest", json={"question": "x" * 3000}).status_code == 413
    assert app.extensions["kbs_querylog"].flush()
    assert rows(config.query_log_db) == []


def test_query_log_off_records_nothing(built, tmp_path, config, hash_embedder):
    config = config.replace(query_log=False)
    app = create_app(config, searcher=make_searcher(tmp_path / "index", hash_embedder, config))
    assert app.test_client().post("/v1/suggest", json={"question": "发货"}).status_code == 200
    log = app.extensions["kbs_querylog"]
    assert log.stats() == {"enabled": False, "written": 0, "dropped": 0, "queued": 0} and log._writer is None


def test_a_full_queue_drops_and_counts_and_never_blocks(tmp_path, monkeypatch):
    gate, busy = threading.Event(), threading.Event()
    real_row = Entry.row

    def slow_row(self):
        busy.set()
        gate.wait(10)
        return real_row(self)

    monkeypatch.setattr(Entry, "row", slow_row)
    log = QueryLog(tmp_path / "q.sqlite3", queue_size=2)
    log.record(entry("第一条"))
    assert busy.wait(10)  # the writer holds the first entry; the queue has room for two more
    started = time.perf_counter()
    for n in range(5):
        log.record(entry(f"问题{n}"))
    assert time.perf_counter() - started < 0.05, "record never waits for the writer"
    assert log.dropped == 3
    gate.set()
    assert log.flush()
    assert log.stats() == {"enabled": True, "written": 3, "dropped": 3, "queued": 0}
    assert [r["question"] for r in rows(log.path)] == ["第一条", "问题0", "问题1"]
    log.close()


def test_entries_are_written_in_batches(tmp_path, monkeypatch):
    """300 entries queued while the writer is busy go in a couple of transactions, not 300."""
    gate = threading.Event()
    real_row, real_connect = Entry.row, querylog.connect
    batches = []

    class Counting:
        def __init__(self, db):
            self.db = db

        def executemany(self, sql, rows):
            rows = list(rows)
            batches.append(len(rows))
            return self.db.executemany(sql, rows)

        def __enter__(self):
            return self.db.__enter__()

        def __exit__(self, *exc):
            return self.db.__exit__(*exc)

        def close(self):
            self.db.close()

    monkeypatch.setattr(Entry, "row", lambda self: (gate.wait(10), real_row(self))[1])
    monkeypatch.setattr(querylog, "connect", lambda path: Counting(real_connect(path)))
    log = QueryLog(tmp_path / "q.sqlite3")
    for n in range(300):
        log.record(entry(f"问题{n}"))
    gate.set()
    assert log.flush()
    assert sum(batches) == 300 and len(batches) <= 3, batches
    assert max(batches) == querylog.WRITE_BATCH
    assert [r["question"] for r in rows(log.path)] == [f"问题{n}" for n in range(300)]
    log.close()


@pytest.mark.parametrize("sql", [
    "UPDATE query_log SET question = 'overwritten'",
    "DELETE FROM query_log",
    "DELETE FROM query_log WHERE id = 1",
    "INSERT OR REPLACE INTO query_log (id, at, endpoint, question, top_ids, top_scores, confident) "
    "VALUES (1, 't', 'suggest', 'overwritten', '[]', '[]', 0)",
    "REPLACE INTO query_log (id, at, endpoint, question, top_ids, top_scores, confident) "
    "VALUES (1, 't', 'suggest', 'overwritten', '[]', '[]', 0)",
])
def test_the_query_log_is_append_only(tmp_path, sql):
    log = QueryLog(tmp_path / "q.sqlite3")
    log.record(entry("原来的问题"))
    assert log.flush()
    with sqlite3.connect(log.path) as db, pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute(sql)
    assert [r["question"] for r in rows(log.path)] == ["原来的问题"]
    log.close()


def test_prune_deletes_only_rows_past_the_retention_and_leaves_the_table_append_only(tmp_path, capsys):
    log = QueryLog(tmp_path / "q.sqlite3")
    now = time.time()
    for days in (200, 100, 31, 29, 1, 0):
        log.record(entry(f"{days} 天前", at=now - days * 86400))
    assert log.flush()
    log.close()
    assert prune(log.path, 90) == 2
    assert querylog.main(["prune", "--older-than-days", "30", "--db", str(log.path)]) == 0
    assert "pruned 1 row(s) older than 30 day(s)" in capsys.readouterr().out
    assert [r["question"] for r in rows(log.path)] == ["29 天前", "1 天前", "0 天前"]
    with sqlite3.connect(log.path) as db:
        assert db.execute("SELECT COUNT(*) FROM query_log_maintenance").fetchone() == (0,)
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute("DELETE FROM query_log")
    assert querylog.main(["prune", "--db", str(tmp_path / "none.sqlite3")]) == 2


def test_prune_uses_the_retention_setting(tmp_path, monkeypatch, capsys):
    log = QueryLog(tmp_path / "q.sqlite3")
    for days in (10, 3):
        log.record(entry(f"{days}", at=time.time() - days * 86400))
    assert log.flush()
    log.close()
    monkeypatch.setenv("KBS_QUERY_LOG_RETENTION_DAYS", "7")
    monkeypatch.setenv("KBS_QUERY_LOG_DB", str(log.path))
    assert querylog.main(["prune"]) == 0
    assert [r["question"] for r in rows(log.path)] == ["3"]


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
    for question in ("=HYPERLINK(\"http://evil.example\")", f"+{PHONE} 的订单", "退款多久"):
        assert client.post("/v1/suggest", json={"question": question}).status_code == 200
    log = triage_app.extensions["kbs_querylog"]
    assert log.flush()
    response = client.get("/v1/querylog/export", headers={"Authorization": "Bearer " + TOKEN})
    assert response.is_streamed and response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"
    table = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert table[0] == list(querylog.COLUMNS)
    assert [row[3] for row in table[1:]] == ["'=HYPERLINK(\"http://evil.example\")", "'+139****5678 的订单", "退款多久"]


def test_readyz_reports_the_query_log(app, client):
    client.post("/v1/suggest", json={"question": "发货"})
    assert app.extensions["kbs_querylog"].flush()
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


def test_rows_can_be_read_for_a_period(tmp_path):
    """The weekly report reads one period: since inclusive, until exclusive, on the UTC time."""
    log = QueryLog(tmp_path / "q.db")
    day = dt.datetime(2026, 11, 2, tzinfo=dt.timezone.utc)
    for n in range(4):
        log.record(entry(f"问题{n}", at=(day + dt.timedelta(days=n)).timestamp()))
    assert log.flush()
    log.close()
    since, until = (day + dt.timedelta(days=1)).isoformat(), (day + dt.timedelta(days=3)).isoformat()
    assert [r[3] for r in log.rows(since=since, until=until)] == ["问题1", "问题2"]
    assert len(list(log.rows(since=since))) == 3
    assert len(list(log.rows(until=since))) == 1
