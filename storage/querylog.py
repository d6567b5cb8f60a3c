"""The query log: one append-only SQLite row per answered question, for the KB editors' weekly loop.

Stored: the time, the question **masked** (``core.masking``: never the raw text), the top article
ids and scores, confident and confidence, the index version, the latency and the triage labels.
Requests never wait on the disk: ``record`` puts the entry on a bounded queue and returns (a full
queue drops the entry and counts it); one writer thread wakes at most every ``GATHER_S``, masks
the texts and inserts what waits in one transaction.

Append-only like feedback: triggers refuse UPDATE, REPLACE and DELETE. Retention is an explicit
maintenance command, ``python -m storage.querylog prune --older-than-days N``: in one transaction it
writes a cutoff into ``query_log_maintenance`` (the delete trigger lets through only rows older than
a cutoff found there), deletes, and removes the cutoff again.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import queue
import sqlite3
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from core import config as cfg
from core.masking import mask

from .export import csv_pieces, table_rows

log = logging.getLogger(__name__)

COLUMNS = ("id", "at", "endpoint", "question", "top_ids", "top_scores", "confident", "confidence",
           "index_version", "latency_ms", "intent", "urgency", "emotion", "handoff", "handoff_reason")
_INSERT = (f"INSERT INTO query_log ({', '.join(COLUMNS[1:])}) "
           f"VALUES ({', '.join('?' * (len(COLUMNS) - 1))})")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS query_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,             -- UTC, ISO 8601 with milliseconds
    endpoint TEXT NOT NULL,       -- suggest | batch
    question TEXT NOT NULL,       -- masked
    top_ids TEXT NOT NULL,        -- JSON list, best first
    top_scores TEXT NOT NULL,     -- JSON list, same order
    confident INTEGER NOT NULL,
    confidence REAL,
    index_version TEXT,
    latency_ms REAL,
    intent TEXT, urgency TEXT, emotion TEXT, handoff INTEGER, handoff_reason TEXT
);
CREATE INDEX IF NOT EXISTS query_log_at ON query_log (at);
-- a row here is a prune in progress: rows older than its cutoff may be deleted, nothing else
CREATE TABLE IF NOT EXISTS query_log_maintenance (cutoff TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS query_log_no_update BEFORE UPDATE ON query_log
    BEGIN SELECT RAISE(ABORT, 'query log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS query_log_no_delete BEFORE DELETE ON query_log
    WHEN NOT EXISTS (SELECT 1 FROM query_log_maintenance WHERE OLD.at < cutoff)
    BEGIN SELECT RAISE(ABORT, 'query log is append-only; old rows go by: python -m storage.querylog prune'); END;
CREATE TRIGGER IF NOT EXISTS query_log_no_replace BEFORE INSERT ON query_log
    WHEN NEW.id IS NOT NULL AND EXISTS (SELECT 1 FROM query_log WHERE id = NEW.id)
    BEGIN SELECT RAISE(ABORT, 'query log is append-only'); END;
"""
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
    latency_ms: float
    intent: str | None = None
    urgency: str | None = None
    emotion: str | None = None
    handoff: bool | None = None
    handoff_reason: str | None = None

    def row(self) -> tuple:
        at = dt.datetime.fromtimestamp(self.at, dt.timezone.utc).isoformat(timespec="milliseconds")
        return (at, self.endpoint, mask(self.question), json.dumps(list(self.top_ids), ensure_ascii=False),
                json.dumps([round(s, 4) for s in self.top_scores]), int(self.confident), round(self.confidence, 4),
                self.index_version, round(self.latency_ms, 3), self.intent, self.urgency, self.emotion,
                None if self.handoff is None else int(self.handoff), self.handoff_reason)


def entry_of(answer, question: str, latency_ms: float, endpoint: str) -> Entry:
    """The log entry of one assist.Answer (its triage labels when the KB has triage data)."""
    result, triage = answer.result, answer.triage
    return Entry(time.time(), endpoint, question, tuple(s.article_id for s in result.suggestions),
                 tuple(s.score for s in result.suggestions), result.confident, result.confidence,
                 result.index_version, latency_ms,
                 *((triage.intent.label, triage.urgency.label, triage.emotion.label, triage.handoff,
                    triage.handoff_reason) if triage else ()))


def connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=10)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")  # WAL: no fsync per commit; a power cut may lose the last batch
    db.executescript(_SCHEMA)
    return db


class QueryLog:
    """The server's query log; with ``enabled`` false it records nothing (and starts no thread)."""

    def __init__(self, path: Path, enabled: bool = True, queue_size: int = 10000):
        self.path = Path(path)
        self.enabled = enabled
        self.dropped = 0  # entries lost to a full queue or a failed write
        self.written = 0
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, queue_size))
        self._writer: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closing = threading.Event()  # cuts the writer's gathering wait short
        if enabled:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connect(self.path).close()  # the schema exists before the first request

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
        db = connect(self.path)
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
            try:
                with db:
                    db.executemany(_INSERT, [e.row() for e in entries])
                self.written += len(entries)
            except Exception as exc:  # noqa: BLE001 - a full disk must not kill the writer; no text in the log
                self.dropped += len(entries)
                log.warning("query log: %d entries not written: %s", len(entries), type(exc).__name__)
            for _ in batch:
                self._queue.task_done()
            if stop:
                db.close()
                return

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

    def rows(self, since: str | None = None, until: str | None = None) -> Iterator[tuple]:
        """Rows in ``COLUMNS`` order, id order, read in batches (the table outgrows memory);
        ``since``/``until`` bound ``at`` (ISO UTC text: since inclusive, until exclusive)."""
        if not self.path.exists():
            return iter(())
        return table_rows(connect(self.path), "query_log", COLUMNS, since, until)

    def export_csv(self) -> Iterator[str]:
        return csv_pieces(COLUMNS, self.rows())


def prune(path: Path, older_than_days: float, now: dt.datetime | None = None) -> int:
    """Delete the rows older than ``older_than_days`` (the retention); returns how many went.
    The one sanctioned delete: cutoff in, delete, cutoff out, in one transaction."""
    now = now or dt.datetime.now(dt.timezone.utc)
    cutoff = (now - dt.timedelta(days=older_than_days)).isoformat(timespec="milliseconds")
    db = connect(Path(path))
    db.isolation_level = None  # the transaction below is ours, statement by statement
    try:
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO query_log_maintenance (cutoff) VALUES (?)", (cutoff,))
        deleted = db.execute("DELETE FROM query_log WHERE at < ?", (cutoff,)).rowcount
        db.execute("DELETE FROM query_log_maintenance")
        db.execute("COMMIT")
        return deleted
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")  # the cutoff row goes with it: the table is append-only again
        raise
    finally:
        db.close()


def main(argv: list[str] | None = None) -> int:
    """``python -m storage.querylog prune [--older-than-days N] [--db FILE]``."""
    parser = argparse.ArgumentParser(prog="python -m storage.querylog", description="Maintenance of the query log.")
    sub = parser.add_subparsers(dest="command", required=True)
    command = sub.add_parser("prune", help="delete rows older than the retention (the only delete there is)")
    command.add_argument("--older-than-days", type=float,
                         help="default: setting query_log_retention_days")
    command.add_argument("--db", help="default: setting query_log_db")
    args = parser.parse_args(argv)
    config = cfg.load()
    path = Path(args.db or config.query_log_db)
    days = config.query_log_retention_days if args.older_than_days is None else args.older_than_days
    if days < 0:
        parser.error("--older-than-days must be 0 or more")
    if not path.exists():
        print(f"error: no query log at {path}", file=sys.stderr)
        return 2
    try:
        deleted = prune(path, days)
    except sqlite3.Error as exc:
        print(f"error: cannot prune {path}: {exc}", file=sys.stderr)
        return 2
    print(f"pruned {deleted} row(s) older than {days:g} day(s) from {path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
