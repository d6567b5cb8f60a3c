"""The query log: one append-only row per answered question, for the KB editors' weekly loop, in SQLite
(the default) or PostgreSQL (``database_url``).

Stored: the time, the question **masked** (``core.masking``: never the raw text), the top article
ids and scores, confident and confidence, the index version, the latency, the triage labels and the
out-of-scope topic.
Requests never wait on the database: ``record`` puts the entry on a bounded queue and returns (a full
queue drops the entry and counts it); one writer thread wakes at most every ``GATHER_S``, masks
the texts and inserts what waits in one transaction.

Append-only like feedback: triggers refuse UPDATE, REPLACE and DELETE (and TRUNCATE in PostgreSQL).
Retention is an explicit maintenance command, ``python -m storage.querylog prune --older-than-days N``:
in one transaction it writes a cutoff into ``query_log_maintenance`` (the delete trigger lets through
only rows older than a cutoff found there), deletes, and removes the cutoff again.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import queue
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from core import config as cfg
from core.masking import mask

from .connect import open_database
from .db import Column, Connection, Database, StorageError, Table, one_line, storable
from .export import csv_pieces
from .sqlite import SqliteDatabase

log = logging.getLogger(__name__)

TABLE = Table("query_log", (
    Column("at", "text", required=True),  # UTC, ISO 8601 with milliseconds
    Column("endpoint", "text", required=True),  # suggest | batch
    Column("question", "text", required=True),  # masked
    Column("top_ids", "text", required=True),  # JSON list, best first
    Column("top_scores", "text", required=True),  # JSON list, same order
    Column("confident", "integer", required=True),
    Column("confidence", "real"),
    Column("index_version", "text"),
    Column("latency_ms", "real"),
    *(Column(name, "text") for name in ("intent", "urgency", "emotion")),
    Column("handoff", "integer"),
    Column("handoff_reason", "text"),
    Column("out_of_scope", "text"),  # the topic of a question the shop does not handle (retrieval/scope.py)
    Column("request_id", "text"),  # what the answer gave the client, for its feedback (storage.feedback)
), refusal="query log is append-only; old rows go by: python -m storage.querylog prune", indexed=("at", "request_id"),
    prunable=True)
COLUMNS = TABLE.column_names
WRITE_BATCH = 256
GATHER_S = 0.25  # after the first entry, the writer waits this long for more: one wake-up and commit per batch
_STOP = object()


@dataclass(frozen=True)
class Entry:
    """What a request hands over: cheap to build, the raw question still in it (masked by the writer)."""

    at: float  # time.time()
    endpoint: str
    question: str
    top_ids: tuple[str, ...]
    top_scores: tuple[float, ...]
    confident: bool
    confidence: float
    index_version: str
    latency_ms: float  # the question's own search and triage (the answer's took_ms), in suggest and batch alike
    intent: str | None = None
    urgency: str | None = None
    emotion: str | None = None
    handoff: bool | None = None
    handoff_reason: str | None = None
    out_of_scope: str | None = None
    request_id: str | None = None

    def row(self) -> tuple:
        at = dt.datetime.fromtimestamp(self.at, dt.timezone.utc).isoformat(timespec="milliseconds")
        return (at, self.endpoint, mask(self.question), json.dumps(list(self.top_ids), ensure_ascii=False),
                json.dumps([round(s, 4) for s in self.top_scores]), int(self.confident), round(self.confidence, 4),
                self.index_version, round(self.latency_ms, 3), self.intent, self.urgency, self.emotion,
                None if self.handoff is None else int(self.handoff), self.handoff_reason, self.out_of_scope,
                self.request_id)


@dataclass(frozen=True)
class Served:
    """What one answer showed the client: the feedback on it must name one of its articles."""

    request_id: str
    question: str
    article_ids: tuple[str, ...]
    index_version: str
    at: float  # time.time() of the answer


def entry_of(answer, question: str, endpoint: str, request_id: str | None = None) -> Entry:
    """The log entry of one assist.Answer (its triage labels when the KB has triage data)."""
    result, triage = answer.result, answer.triage
    labels = dict(intent=triage.intent.label, urgency=triage.urgency.label, emotion=triage.emotion.label,
                  handoff=triage.handoff, handoff_reason=triage.handoff_reason) if triage else {}
    return Entry(time.time(), endpoint, question, tuple(s.article_id for s in result.suggestions),
                 tuple(s.score for s in result.suggestions), result.confident, result.confidence,
                 result.index_version, answer.took_ms, **labels,
                 out_of_scope=result.out_of_scope.topic if result.out_of_scope else None, request_id=request_id)


class QueryLog:
    """The server's query log; with ``enabled`` false it records nothing (and starts no thread).
    ``db``: a Database, or the path of a SQLite file."""

    def __init__(self, db: Database | Path | str, enabled: bool = True, queue_size: int = 10000):
        # SQLite: synchronous=NORMAL in WAL mode, no fsync per commit; a power cut may lose the last batch
        self.db = db if isinstance(db, Database) else SqliteDatabase(db, synchronous="NORMAL")
        self.enabled = enabled
        self.dropped = 0  # entries lost to a full queue or a failed write
        self.written = 0
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, queue_size))
        self._writer: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closing = threading.Event()  # cuts the writer's gathering wait short
        if enabled:
            self.db.create(TABLE)  # the schema exists before the first request

    def record(self, entry: Entry) -> None:
        """Never blocks: a full queue drops the entry and counts it."""
        if self._writer is None:
            self._start()
        try:
            self._queue.put_nowait(entry)
        except queue.Full:
            self.dropped += 1

    def _start(self) -> None:
        """The writer starts with the first entry: an app that answers nothing holds no thread."""
        with self._lock:
            if self._writer is None:
                writer = threading.Thread(target=self._run, name="query-log-writer", daemon=True)
                writer.start()
                self._writer = writer

    def _run(self) -> None:
        connection: Connection | None = None  # the writer's own, opened on first use and after a failure
        while True:
            batch = [self._queue.get()]
            if batch[0] is not _STOP and self._queue.qsize() < WRITE_BATCH - 1:
                self._closing.wait(GATHER_S)  # a quiet moment: gather; under load a full batch is already there
            while len(batch) < WRITE_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = _STOP in batch
            entries = [e for e in batch if e is not _STOP]
            if entries:
                connection = self._write(connection, entries)
            for _ in batch:
                self._queue.task_done()
            if stop:
                if connection is not None:
                    connection.close()
                return

    def _write(self, connection: Connection | None, entries: list[Entry]) -> Connection | None:
        """Mask and insert in one transaction. A failed insert is tried once more on a new connection
        (a restarted database server, a dropped idle connection); then the entries count as dropped."""
        try:
            rows = [storable(e.row()) for e in entries]
            for attempt in (1, 2):
                try:
                    connection = connection or self.db.connect()
                    with connection.transaction() as session:
                        session.executemany(TABLE.insert_sql, rows)
                    self.written += len(rows)
                    return connection
                except Exception:
                    if connection is not None:
                        _close_quietly(connection)
                    connection = None
                    if attempt == 2:
                        raise
        except Exception as exc:  # noqa: BLE001 - a full disk or a lost server must not kill the writer
            self.dropped += len(entries)
            log.warning("query log: %d entries not written: %s", len(entries), type(exc).__name__)  # no text
        return connection

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every recorded entry is written (tests, shutdown); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._queue.all_tasks_done:
            while self._queue.unfinished_tasks:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._queue.all_tasks_done.wait(left)
        return True

    def close(self, timeout: float = 10.0) -> None:
        if self._writer is not None and self._writer.is_alive():
            self._closing.set()
            self._queue.put(_STOP)
            self._writer.join(timeout)

    def stats(self) -> dict:
        return {"enabled": self.enabled, "written": self.written, "dropped": self.dropped,
                "queued": self._queue.qsize()}

    def served(self, request_id: str) -> Served | None:
        """The logged answer with this id (another replica's, or one from before a restart), or None; also
        None when the log is off or unreadable (the feedback is then refused, never stored untied)."""
        if not self.enabled:
            return None
        try:
            with self.db.transaction() as session:
                row = session.execute(f"SELECT at, question, top_ids, index_version FROM {TABLE.name} "
                                      "WHERE request_id = ? ORDER BY id LIMIT 1", (request_id,)).fetchone()
        except self.db.errors as exc:
            log.warning("query log: served request not read: %s", type(exc).__name__)
            return None
        if row is None:
            return None
        at = dt.datetime.fromisoformat(row[0]).timestamp()
        return Served(request_id, row[1], tuple(json.loads(row[2] or "[]")), row[3] or "", at)

    def rows(self, since: str | None = None, until: str | None = None) -> Iterator[tuple]:
        """Rows in ``COLUMNS`` order, id order, read in batches (the table outgrows memory);
        ``since``/``until`` bound ``at`` (ISO UTC text: since inclusive, until exclusive)."""
        return self.db.rows(TABLE, since, until)

    def export_csv(self) -> Iterator[str]:
        return csv_pieces(COLUMNS, self.rows())


def _close_quietly(connection: Connection) -> None:
    try:
        connection.close()
    except Exception:  # noqa: BLE001 - it is broken already
        pass


def prune(db: Database | Path | str, older_than_days: float, now: dt.datetime | None = None) -> int:
    """Delete the rows older than ``older_than_days`` (the retention); returns how many went.
    The one sanctioned delete: cutoff in, delete, cutoff out, in one transaction."""
    db = db if isinstance(db, Database) else SqliteDatabase(db)
    now = now or dt.datetime.now(dt.timezone.utc)
    cutoff = (now - dt.timedelta(days=older_than_days)).isoformat(timespec="milliseconds")
    db.create(TABLE)
    with db.transaction() as session:  # an error rolls the cutoff back with the rest: append-only again
        session.execute(f"INSERT INTO {TABLE.maintenance} (cutoff) VALUES (?)", (cutoff,))
        deleted = session.execute(f"DELETE FROM {TABLE.name} WHERE at < ?", (cutoff,)).rowcount
        session.execute(f"DELETE FROM {TABLE.maintenance}")
    return deleted


def main(argv: list[str] | None = None) -> int:
    """``python -m storage.querylog prune [--older-than-days N] [--db FILE | --database-url URL]``."""
    parser = argparse.ArgumentParser(prog="python -m storage.querylog", description="Maintenance of the query log.")
    sub = parser.add_subparsers(dest="command", required=True)
    command = sub.add_parser("prune", help="delete rows older than the retention (the only delete there is)")
    command.add_argument("--older-than-days", type=float,
                         help="default: setting query_log_retention_days")
    where = command.add_mutually_exclusive_group()
    where.add_argument("--db", help="a SQLite file (default: setting query_log_db, unless database_url is set)")
    where.add_argument("--database-url", help="a postgresql:// URL (default: setting database_url); keep the "
                                              "password out of it: PGPASSWORD or ~/.pgpass")
    args = parser.parse_args(argv)
    try:
        config = cfg.load({"database_url": args.database_url})
    except cfg.ConfigError as exc:
        parser.error(str(exc))
    days = config.query_log_retention_days if args.older_than_days is None else args.older_than_days
    if days < 0:
        parser.error("--older-than-days must be 0 or more")
    path = Path(args.db or config.query_log_db)
    if (args.db or not config.database_url) and not path.exists():
        print(f"error: no query log at {path}", file=sys.stderr)
        return 2
    try:
        db = open_database("" if args.db else config.database_url, path)
    except StorageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        deleted = prune(db, days)
    except db.errors as exc:
        print(f"error: cannot prune {db.where}: {one_line(exc, config.database_url)}", file=sys.stderr)
        return 2
    finally:
        db.close()
    print(f"pruned {deleted} row(s) older than {days:g} day(s) from {db.where}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
