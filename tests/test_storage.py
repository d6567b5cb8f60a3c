"""The storage layer's promises, each checked on SQLite and on a real PostgreSQL server (``backend``):
append-only tables, the prune as the one delete, period reads, CSV export, masking before anything
reaches the database, a query log that never blocks, and many writers at once."""
import contextlib
import csv
import dataclasses
import datetime as dt
import io
import random
import threading
import time

import pytest

from storage import querylog
from storage.db import Column, StorageError, storable
from storage.feedback import FeedbackEvent, FeedbackStore
from storage.querylog import Entry, QueryLog, prune
from tests.backends import attacks
from tests.helpers import no_gathering


def entry(question="发货", at=None, **changes):
    fields = dict(at=time.time() if at is None else at, endpoint="suggest", question=question, top_ids=("a", "b"),
                  top_scores=(0.9, 0.1), confident=True, confidence=0.8, index_version="v1", latency_ms=3.2)
    return Entry(**{**fields, **changes})


def logged(backend, entries):
    """Stores whose query log holds ``entries``, seeded without the writer's gathering pause (the tests of
    the writer itself, below, record without this)."""
    stores = backend.stores()
    with no_gathering():
        for e in entries:
            stores.query_log.record(e)
        assert stores.query_log.flush()
    return stores


def test_rows_come_back_in_column_order_with_the_same_types(backend):
    stores = logged(backend, [entry("发货", at=1_790_000_000.5, intent="物流", urgency="低", emotion="平静",
                                    handoff=False, handoff_reason="", out_of_scope="招聘")])
    assert list(stores.query_log.rows()) == [
        (1, "2026-09-21T14:13:20.500+00:00", "suggest", "发货", '["a", "b"]', "[0.9, 0.1]", 1, 0.8, "v1", 3.2,
         "物流", "低", "平静", 0, "", "招聘", None)]
    first = stores.feedback.add(FeedbackEvent("面霜保质期", "up", "cream", "v1"))
    assert stores.feedback.add(FeedbackEvent("你们卖手机吗", "gap", None, None)) == first + 1
    (_, at, *rest), second = stores.feedback.rows()
    assert rest == ["面霜保质期", "cream", "up", "v1", None, None]
    assert second[2:] == ("你们卖手机吗", None, "gap", None, None, None)
    assert dt.datetime.fromisoformat(at).tzinfo == dt.timezone.utc and len(at) == len("2026-11-22T10:00:00+00:00")


def test_a_query_log_made_by_an_older_version_gains_the_new_column_and_keeps_its_rows(backend):
    # before out_of_scope and request_id; request_id is indexed: the index comes after the column
    older = dataclasses.replace(querylog.TABLE, columns=querylog.TABLE.columns[:-2], indexed=("at",))
    db = backend.database("query_log")
    db.create(older)
    with db.transaction() as session:
        session.executemany(older.insert_sql, [storable(entry("旧的问题", at=1_790_000_000.0).row()[:-2])])
    stores = logged(backend, [entry("新的问题", at=1_790_000_001.0, out_of_scope="招聘", request_id="r1")])
    old, new = stores.query_log.rows()
    assert old[3] == "旧的问题" and old[-2:] == (None, None)
    assert new[3] == "新的问题" and new[-2:] == ("招聘", "r1")
    assert stores.query_log.served("r1").question == "新的问题"
    newer = dataclasses.replace(querylog.TABLE, columns=(*querylog.TABLE.columns, Column("weight", "real", True)))
    with pytest.raises(StorageError, match="lacks the required column.*weight"):
        db.create(newer)  # a required column cannot be added to rows that have no value for it


@pytest.mark.parametrize("table", ["feedback", "query_log"])
def test_tables_refuse_every_change_and_delete(backend, table):
    stores = logged(backend, [entry("原来的问题")])
    stores.feedback.add(FeedbackEvent("原来的问题", "gap", None, None))
    for sql in attacks(backend.name, table):
        with pytest.raises(backend.integrity_error, match="append-only"):
            backend.execute(table, sql)
        assert [r["question"] for r in backend.table(table)] == ["原来的问题"], sql
    assert stores.feedback.add(FeedbackEvent("新问题", "gap", None, None)) == 2, "ordinary appends still work"


def test_prune_deletes_only_rows_past_the_retention_and_leaves_the_table_append_only(backend, capsys):
    """prune() is given its now; the command (run from cron) takes the clock's, so its rows are planted by it."""
    now = dt.datetime(2026, 11, 22, 12, tzinfo=dt.timezone.utc)
    clock = time.time()
    stores = logged(backend, [entry(f"{days} 天前", at=now.timestamp() - days * 86400) for days in (200, 100)] +
                    [entry(f"{days} 天前", at=clock - days * 86400) for days in (31, 29, 1, 0)])
    stores.query_log.close()
    assert prune(stores.query_log.db, 90, now=now) == 2
    where = ["--db", backend.config.query_log_db] if backend.name == "sqlite" else \
        ["--database-url", backend.config.database_url]
    assert querylog.main(["prune", "--older-than-days", "30", *where]) == 0
    out = capsys.readouterr().out
    assert "pruned 1 row(s) older than 30 day(s)" in out
    assert [r["question"] for r in backend.table("query_log")] == ["29 天前", "1 天前", "0 天前"]
    assert backend.table("query_log_maintenance") == []
    with pytest.raises(backend.integrity_error, match="append-only"):
        backend.execute("query_log", "DELETE FROM query_log")
    if backend.name == "postgres":
        assert backend.cluster.password not in out and ":***@" in out


def test_prune_uses_the_settings(backend, monkeypatch):
    stores = logged(backend, [entry(f"{days}", at=time.time() - days * 86400) for days in (10, 3)])
    stores.query_log.close()
    for name, value in {**backend.env(), "KBS_QUERY_LOG_RETENTION_DAYS": "7"}.items():
        monkeypatch.setenv(name, value)
    assert querylog.main(["prune"]) == 0
    assert [r["question"] for r in backend.table("query_log")] == ["3"]


class FailingSession:
    """Fails the prune's last statement: after its delete, before its commit."""

    def __init__(self, session):
        self.session = session

    def execute(self, sql, params=()):
        if sql.startswith("DELETE FROM query_log_maintenance"):
            raise RuntimeError("the disk went away")
        return self.session.execute(sql, params)


def test_a_failed_prune_deletes_nothing_and_leaves_no_cutoff_behind(backend, monkeypatch):
    stores = logged(backend, [entry("老问题", at=time.time() - 100 * 86400)])
    real = stores.query_log.db.transaction

    @contextlib.contextmanager
    def failing():
        with real() as session:
            yield FailingSession(session)

    monkeypatch.setattr(stores.query_log.db, "transaction", failing)
    with pytest.raises(RuntimeError, match="went away"):
        prune(stores.query_log.db, 90)
    assert [r["question"] for r in backend.table("query_log")] == ["老问题"]
    assert backend.table("query_log_maintenance") == []


def test_rows_can_be_read_for_a_period(backend):
    """The weekly report reads one period: since inclusive, until exclusive, on the UTC time; both tables."""
    day = dt.datetime(2026, 11, 2, tzinfo=dt.timezone.utc)
    stores = logged(backend, [entry(f"问题{n}", at=(day + dt.timedelta(days=n)).timestamp()) for n in range(4)])
    since, until = (day + dt.timedelta(days=1)).isoformat(), (day + dt.timedelta(days=3)).isoformat()
    assert [r[3] for r in stores.query_log.rows(since=since, until=until)] == ["问题1", "问题2"]
    assert len(list(stores.query_log.rows(since=since))) == 3
    assert len(list(stores.query_log.rows(until=since))) == 1
    assert [r[3] for r in stores.query_log.rows(since="2026-11-03", until="2026-11-04")] == ["问题1"]
    stores.feedback.add(FeedbackEvent("今天", "gap", None, None))
    today = dt.datetime.now(dt.timezone.utc).date()
    assert len(list(stores.feedback.rows(since=today.isoformat()))) == 1
    assert list(stores.feedback.rows(until=today.isoformat())) == []


def test_feedback_can_be_stamped_with_a_past_time_for_the_replay(backend):
    """The report's replay demo writes a past week through the API: ``at`` is stored as UTC text."""
    stores = backend.stores()
    shanghai = dt.timezone(dt.timedelta(hours=8))
    stores.feedback.add(FeedbackEvent("发货没", "copy", "dispatch-time", "v1"),
                        at=dt.datetime(2026, 11, 16, 10, 30, tzinfo=shanghai))
    [row] = list(stores.feedback.rows(since="2026-11-16T02:30:00+00:00", until="2026-11-16T02:30:01+00:00"))
    assert row[1:5] == ("2026-11-16T02:30:00+00:00", "发货没", "dispatch-time", "copy")


def test_export_streams_csv_in_pieces_with_formula_cells_neutralised(backend):
    stores = backend.stores()
    for question in ("=HYPERLINK(\"http://evil.example\")", "+1 的订单", "退款多久"):
        stores.feedback.add(FeedbackEvent(question, "copy", "@a", None))
    for n in range(1200):
        stores.query_log.record(entry(f"问题{n}"))
    assert stores.query_log.flush()
    table = list(csv.reader(io.StringIO("".join(stores.feedback.export_csv()))))
    assert table[0] == ["id", "at", "question", "article_id", "action", "index_version", "request_id", "client"]
    assert [row[2:4] for row in table[1:]] == [["'=HYPERLINK(\"http://evil.example\")", "'@a"],
                                               ["'+1 的订单", "'@a"], ["退款多久", "'@a"]]
    pieces = list(stores.query_log.export_csv())
    assert len(pieces) >= 3, "a generator of batches, not one string"
    assert sum(piece.count("\n") for piece in pieces) == 1201


def test_control_characters_are_removed_before_storing(backend):
    """NUL (PostgreSQL text cannot hold it), ESC and BEL (a terminal runs them when an export is cat'ed)."""
    stores = logged(backend, [entry("发\x00\x1b[2J货\x07")])
    stores.feedback.add(FeedbackEvent("发\x00货\x07", "gap", None, None))
    assert [r[3] for r in stores.query_log.rows()] == ["发[2J货"]
    assert [r[2] for r in stores.feedback.rows()] == ["发货"]
    assert storable(("a\x00b", 1)) == ("a\ufffdb", 1)  # any other text: the same on both backends


def planted() -> dict[str, str]:
    """Phone, order and ID-card numbers of this run only: no other test's data can contain them."""
    digits = lambda n: "".join(random.choice("0123456789") for _ in range(n))  # noqa: E731
    return {"phone": "139" + digits(8), "order": "69" + digits(17), "id_card": "110105199003" + "07" + digits(4)}


def test_nothing_unmasked_reaches_the_database(backend):
    """Masked on the writer thread, before the insert: the raw numbers are in no column, no file of the
    database (data, WAL) and, for PostgreSQL, not in its log of every statement and parameter."""
    raw = planted()
    questions = [f"手机{raw['phone']}，订单号{raw['order']}还没发货", f"身份证{raw['id_card']}", raw["phone"]]
    stores = logged(backend, [entry(q, endpoint=endpoint) for q in questions for endpoint in ("suggest", "batch")])
    stores.query_log.close()
    for question in questions:  # an agent's 知识库缺口 on the same messages
        stores.feedback.add(FeedbackEvent(question, "gap", None, "v1"))
    masked = [f"手机139****{raw['phone'][-4:]}，订单号[单号]还没发货", "身份证[身份证号]", f"139****{raw['phone'][-4:]}"]
    assert [r["question"] for r in backend.table("query_log")][::2] == masked
    assert [r["question"] for r in backend.table("feedback")] == masked
    contents = " ".join(str(value) for table in ("query_log", "feedback")
                        for row in backend.table(table) for value in row.values())
    everything = backend.stored_bytes()
    assert "手机139****".encode() in everything, "the search reads where the rows are"
    if backend.name == "postgres":
        assert "手机139****" in backend.cluster.server_log(), "the server logs every statement's parameters"
    for value in raw.values():
        assert value[:7] not in contents and value not in contents
        assert value.encode() not in everything, f"{value} reached the database"


def test_a_full_queue_drops_and_counts_and_never_blocks(backend, monkeypatch):
    gate, busy = threading.Event(), threading.Event()
    real_row = Entry.row

    def slow_row(self):
        busy.set()
        gate.wait(10)
        return real_row(self)

    monkeypatch.setattr(Entry, "row", slow_row)
    log = backend.stores(query_log_queue=2).query_log
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
    assert [r["question"] for r in backend.table("query_log")] == ["第一条", "问题0", "问题1"]


class CountingSession:
    def __init__(self, session, batches):
        self.session, self.batches = session, batches

    def executemany(self, sql, rows):
        self.batches.append(len(rows))
        return self.session.executemany(sql, rows)


def test_entries_are_written_in_batches(backend, monkeypatch):
    """300 entries queued while the writer is busy go in a couple of transactions, not 300."""
    gate, batches = threading.Event(), []
    real_row = Entry.row
    log = backend.stores().query_log
    real_connect = log.db.connect

    def connect():
        connection = real_connect()
        real_transaction = connection.transaction

        @contextlib.contextmanager
        def transaction():
            with real_transaction() as session:
                yield CountingSession(session, batches)

        connection.transaction = transaction
        return connection

    monkeypatch.setattr(Entry, "row", lambda self: (gate.wait(10), real_row(self))[1])
    monkeypatch.setattr(log.db, "connect", connect)
    for n in range(300):
        log.record(entry(f"问题{n}"))
    gate.set()
    assert log.flush()
    assert sum(batches) == 300 and len(batches) <= 3, batches
    assert max(batches) == querylog.WRITE_BATCH
    assert [r["question"] for r in backend.table("query_log")] == [f"问题{n}" for n in range(300)]


def test_many_writers_at_once_like_replicas(backend):
    """Two 'replicas' (two handles on the same database, each with its query log and feedback) and eight
    request threads each: every row arrives once, ids are unique."""
    replicas = [(FeedbackStore(backend.database("feedback")), QueryLog(backend.database("query_log")))
                for _ in range(2)]
    ids: list[int] = []
    lock = threading.Lock()

    def requests(feedback, log, thread):
        for n in range(25):
            log.record(entry(f"线程{thread}-{n}"))
            new = feedback.add(FeedbackEvent(f"线程{thread}-{n}", "copy", "a", None))
            with lock:
                ids.append(new)

    threads = [threading.Thread(target=requests, args=(*replicas[k % 2], k)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for _, log in replicas:
        assert log.flush()
        log.close()
    expected = sorted(f"线程{k}-{n}" for k in range(8) for n in range(25))
    for table in ("query_log", "feedback"):
        rows = backend.table(table)
        assert sorted(r["question"] for r in rows) == expected
        assert len({r["id"] for r in rows}) == len(rows)
    assert sorted(ids) == sorted(r["id"] for r in backend.table("feedback"))


def test_the_prune_command_runs_as_a_module_with_one_line_of_error(tmp_path):
    """``python -m storage.querylog``: the package must not import the module first (runpy would warn)."""
    import subprocess
    import sys

    from tests.helpers import ROOT

    done = subprocess.run([sys.executable, "-m", "storage.querylog", "prune", "--db", str(tmp_path / "none.sqlite3")],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [f"error: no query log at {tmp_path / 'none.sqlite3'}"]
