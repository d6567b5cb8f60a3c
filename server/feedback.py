"""Agents' feedback (👍/👎, copies, KB gaps), stored append-only in SQLite for the KB editors."""
from __future__ import annotations

import csv
import datetime as dt
import io
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

ACTIONS = ("up", "down", "copy", "gap")
COLUMNS = ("id", "at", "question", "article_id", "action", "index_version")

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    question TEXT NOT NULL,
    article_id TEXT,
    action TEXT NOT NULL CHECK (action IN ({", ".join(f"'{a}'" for a in ACTIONS)})),
    index_version TEXT
);
CREATE TRIGGER IF NOT EXISTS feedback_no_update BEFORE UPDATE ON feedback
    BEGIN SELECT RAISE(ABORT, 'feedback is append-only'); END;
CREATE TRIGGER IF NOT EXISTS feedback_no_delete BEFORE DELETE ON feedback
    BEGIN SELECT RAISE(ABORT, 'feedback is append-only'); END;
-- REPLACE (INSERT OR REPLACE, REPLACE INTO) deletes the old row without firing the delete trigger:
-- refuse any insert that names an id already taken.
CREATE TRIGGER IF NOT EXISTS feedback_no_replace BEFORE INSERT ON feedback
    WHEN NEW.id IS NOT NULL AND EXISTS (SELECT 1 FROM feedback WHERE id = NEW.id)
    BEGIN SELECT RAISE(ABORT, 'feedback is append-only'); END;
"""
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # OWASP CSV injection: cells a spreadsheet runs
EXPORT_BATCH = 500


@dataclass(frozen=True)
class FeedbackEvent:
    question: str
    action: str
    article_id: str | None
    index_version: str | None


class FeedbackStore:
    """One short-lived connection per call: safe across the WSGI server's threads."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    def add(self, event: FeedbackEvent) -> int:
        at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        with self._connect() as db:
            cursor = db.execute(
                "INSERT INTO feedback (at, question, article_id, action, index_version) VALUES (?, ?, ?, ?, ?)",
                (at, event.question, event.article_id, event.action, event.index_version))
            return int(cursor.lastrowid)

    def rows(self) -> Iterator[tuple]:
        """Every event in id order, read in batches: the table can outgrow memory."""
        db = self._connect()
        try:
            cursor = db.execute(f"SELECT {', '.join(COLUMNS)} FROM feedback ORDER BY id")
            while batch := cursor.fetchmany(EXPORT_BATCH):
                yield from batch
        finally:
            db.close()

    def export_csv(self) -> Iterator[str]:
        return csv_pieces(COLUMNS, self.rows())


def csv_pieces(columns, rows) -> Iterator[str]:
    """A CSV as a stream of pieces (a header, then batches of rows), formula cells neutralised."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for n, row in enumerate(rows, start=1):
        writer.writerow([csv_cell(value) for value in row])
        if n % EXPORT_BATCH == 0:
            yield _drain(out)
    yield _drain(out)


def csv_cell(value):
    """A text starting with = + - @ TAB or CR gets a leading ' so that Excel or LibreOffice shows it
    instead of running it as a formula (OWASP, CSV injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _drain(out: io.StringIO) -> str:
    text = out.getvalue()
    out.seek(0)
    out.truncate()
    return text
