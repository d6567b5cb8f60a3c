"""Agents' feedback (👍/👎, copies, KB gaps), stored append-only in SQLite for the KB editors."""
from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .export import csv_pieces, table_rows

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

    def add(self, event: FeedbackEvent, at: dt.datetime | None = None) -> int:
        """Append one event, stamped now; ``at`` (an aware time) is for replaying a past week (the demo)."""
        at = (at or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc).isoformat(timespec="seconds")
        with self._connect() as db:
            cursor = db.execute(
                "INSERT INTO feedback (at, question, article_id, action, index_version) VALUES (?, ?, ?, ?, ?)",
                (at, event.question, event.article_id, event.action, event.index_version))
            return int(cursor.lastrowid)

    def rows(self, since: str | None = None, until: str | None = None) -> Iterator[tuple]:
        """Rows in ``COLUMNS`` order, id order; ``since``/``until`` bound ``at`` (ISO UTC text)."""
        return table_rows(self._connect(), "feedback", COLUMNS, since, until)

    def export_csv(self) -> Iterator[str]:
        return csv_pieces(COLUMNS, self.rows())
