"""What only the PostgreSQL path has: the server writing to a shared database, rows identical to SQLite's,
a clear one-line error (never with the password) for a wrong URL, replicas creating the tables at once,
and a query-log writer that survives a dropped connection. The storage promises themselves run on both
backends in test_storage.py."""
import subprocess
import sys
import threading
import time

import pytest

from server import create_app
from server.launcher import free_port
from storage import StorageError
from storage.stores import open_stores
from storage.feedback import FeedbackEvent
from tests.backends import PostgresBackend, SqliteBackend
from tests.helpers import ROOT, TODAY, make_searcher
from tests.test_storage import entry, planted

TOKEN = "correct-horse-battery-staple"


@pytest.fixture
def pg(config, pg_url, pg_cluster):
    backend = PostgresBackend(config.replace(database_url=pg_url), pg_cluster)
    yield backend
    backend.close()


def test_the_server_logs_suggestions_and_records_feedback_in_postgres(built, tmp_path, pg, hash_embedder):
    config = pg.config.replace(admin_token=TOKEN)
    app = create_app(config, searcher=make_searcher(tmp_path / "index", hash_embedder, config), today=lambda: TODAY)
    client = app.test_client()
    raw = planted()
    body = client.post("/v1/suggest", json={"question": f"手机{raw['phone']}什么时候发货", "top_k": 3}).get_json()
    batch = client.post("/v1/suggest/batch", json={"questions": ["退款多久到账", "面霜保质期"]})
    assert batch.status_code == 200
    cream = batch.get_json()["results"][1]
    tied = {"request_id": cream["request_id"], "action": "copy", "article_id": cream["suggestions"][0]["article_id"]}
    assert client.post("/v1/feedback", json=tied).status_code == 201
    stores = app.extensions["kbs_stores"]
    assert stores.query_log.flush()
    # another replica on the same database knows the answer from the query log, and the vote is one vote
    replica = create_app(config, searcher=make_searcher(tmp_path / "index", hash_embedder, config), today=lambda: TODAY)
    again = replica.test_client().post("/v1/feedback", json=tied)
    assert again.status_code == 200 and again.get_json()["duplicate"]
    up = replica.test_client().post("/v1/feedback", json={**tied, "action": "up"})
    assert up.status_code == 201
    replica.extensions["kbs_stores"].close()
    logged = pg.table("query_log")
    assert [(r["endpoint"], r["question"]) for r in logged] == [
        ("suggest", f"手机139****{raw['phone'][-4:]}什么时候发货"), ("batch", "退款多久到账"), ("batch", "面霜保质期")]
    assert logged[0]["index_version"] == body["index_version"] and logged[0]["confident"] == int(body["confident"])
    assert [(r["question"], r["action"], r["request_id"]) for r in pg.table("feedback")] == [
        ("面霜保质期", "copy", cream["request_id"]), ("面霜保质期", "up", cream["request_id"])]
    export = client.get("/v1/querylog/export", headers={"Authorization": "Bearer " + TOKEN}).get_data(as_text=True)
    assert f"139****{raw['phone'][-4:]}" in export and raw["phone"] not in export
    assert client.get("/readyz").get_json()["query_log"]["written"] == 3
    assert not (tmp_path / "querylog.sqlite3").exists() and not (tmp_path / "feedback.sqlite3").exists()
    stores.close()


def test_both_backends_return_identical_rows(config, pg):
    """The weekly report reads either: same tuples, same column order, same text for times and JSON lists."""
    sqlite = SqliteBackend(config)
    entries = [entry("发货", at=1_790_000_000.25, intent="物流", handoff=True, handoff_reason="客户要求人工"),
               entry("ID 110105199003071234", at=1_790_000_100, top_ids=("七天无理由",), top_scores=(0.123456,),
                     confident=False, confidence=0.1)]
    try:
        pair = [backend.stores() for backend in (sqlite, pg)]
        for stores in pair:
            for e in entries:
                stores.query_log.record(e)
            assert stores.query_log.flush()
            stores.feedback.add(FeedbackEvent("面霜保质期", "down", "cream", "v1"))
        (sqlite_log, pg_log), (sqlite_feedback, pg_feedback) = ([list(s.query_log.rows()) for s in pair],
                                                                [list(s.feedback.rows()) for s in pair])
        assert sqlite_log == pg_log and len(pg_log) == 2
        assert [tuple(map(type, row)) for row in sqlite_log] == [tuple(map(type, row)) for row in pg_log]
        assert [r[:1] + r[2:] for r in sqlite_feedback] == [r[:1] + r[2:] for r in pg_feedback]
        since = "2026-09-21T14:13:20.250+00:00"
        assert list(pair[0].query_log.rows(since=since)) == list(pair[1].query_log.rows(since=since))
    finally:
        sqlite.close()


def _message(config, url: str) -> str:
    with pytest.raises(StorageError) as caught:
        open_stores(config.replace(database_url=url))
    return str(caught.value)


@pytest.fixture
def wrong(pg_cluster):
    """URLs that cannot work, each with a password that must not be shown, and what the message says."""
    port, closed = pg_cluster.port, free_port()
    return {
        "unreachable": (f"postgresql://kbs:s3cret-one@127.0.0.1:{closed}/kb", f'"127.0.0.1", port {closed} failed'),
        "wrong password": (f"postgresql://kbs:s3cret-two@127.0.0.1:{port}/postgres", "password authentication failed"),
        "password in the query": (f"postgresql://kbs@127.0.0.1:{port}/postgres?password=s3cret-three",
                                  "password authentication failed"),
        "unknown database (password from PGPASSWORD)": (f"postgresql://kbs@127.0.0.1:{port}/nope",
                                                        'database "nope" does not exist'),
        "bad port": ("postgresql://kbs:s3cret-four@127.0.0.1:notaport/kb", '"notaport"'),
        "not postgres": ("mysql://kbs:s3cret-five@127.0.0.1/kb", "must be a postgresql:// URL"),
    }


def test_a_wrong_url_stops_the_start_with_one_line_without_the_password(config, wrong, monkeypatch, pg_cluster):
    monkeypatch.setenv("PGPASSWORD", pg_cluster.password)
    for case, (url, expected) in wrong.items():
        message = _message(config, url)
        assert expected in message, (case, message)
        assert "\n" not in message and "s3cret" not in message and pg_cluster.password not in message, (case, message)
    monkeypatch.setitem(sys.modules, "storage.postgres", None)  # as if psycopg were not installed
    assert "pip install 'kb-suggest[postgres]'" in _message(config, wrong["wrong password"][0])


def test_python_m_server_exits_2_with_one_line(tmp_path, pg_cluster):
    url = f"postgresql://kbs:s3cret-seven@127.0.0.1:{pg_cluster.port}/postgres"
    done = subprocess.run([sys.executable, "-m", "server", "--index", str(tmp_path / "none"), "--embedder", "hash"],
                          cwd=ROOT, env={"KBS_DATABASE_URL": url, "PATH": "/usr/bin:/bin"}, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"error: cannot connect to the database postgresql://kbs:***@127.0.0.1:{pg_cluster.port}"
                           f"/postgres: ") and "password authentication failed" in line
    assert "s3cret" not in done.stdout + done.stderr


def test_replicas_starting_together_create_the_tables_once(pg):
    errors, started = [], []

    def replica():
        try:
            started.append(pg.stores())
        except Exception as exc:  # noqa: BLE001 - collected for the assert
            errors.append(exc)

    threads = [threading.Thread(target=replica) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(started) == 4


def test_the_url_is_not_in_the_settings_repr(pg):
    assert pg.cluster.password not in repr(pg.config) and "database_url" not in repr(pg.config)


def test_the_writer_and_the_pool_survive_a_dropped_connection(pg):
    stores = pg.stores()
    stores.query_log.record(entry("第一条"))
    assert stores.query_log.flush()
    stores.feedback.add(FeedbackEvent("第一条", "gap", None, None))
    with pg._connect() as conn:  # e.g. a database restart or an idle-connection timeout
        killed = conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchall()
    assert len(killed) >= 2, "the writer's connection and the pool's"
    time.sleep(0.2)
    stores.query_log.record(entry("第二条"))
    assert stores.query_log.flush()
    assert stores.query_log.stats()["dropped"] == 0
    stores.feedback.add(FeedbackEvent("第二条", "gap", None, None))
    assert [r["question"] for r in pg.table("query_log")] == ["第一条", "第二条"]
    assert [r["question"] for r in pg.table("feedback")] == ["第一条", "第二条"]


def test_a_slow_export_does_not_hold_a_pooled_connection(pg):
    """An admin download read slowly must not make the agents' feedback wait for the pool (one connection here)."""
    stores = pg.stores(database_pool_size=1)
    for n in range(3):
        stores.feedback.add(FeedbackEvent(f"问题{n}", "gap", None, None))
    reading = stores.feedback.rows()
    assert next(reading)[2] == "问题0"  # the download has begun and is read no further for now
    started = time.monotonic()
    stores.feedback.add(FeedbackEvent("导出期间的反馈", "copy", "a", None))
    assert time.monotonic() - started < 2, "the feedback waited for the export's connection"
    assert [row[2] for row in reading] == ["问题1", "问题2"], "the export sees the rows as they were when it began"
