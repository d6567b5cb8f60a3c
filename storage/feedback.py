"""Agents' feedback (👍/👎, copies, KB gaps), stored append-only for the KB editors: in SQLite or PostgreSQL.
The question is stored masked (``core.masking``), like the query log's: never a customer's phone or order number.

The server stores only feedback *tied* to a request it served (``request_id``: the suggestions an agent
saw), with that request's question, one vote per (request, article, action): a flood of votes nobody
was shown cannot steer the report or what is learned. Rows without a request (stored by an older
version) are kept but counted nowhere (``tied``)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from core.masking import mask

from .db import Column, Database, StorageError, Table, storable
from .export import csv_pieces
from .sqlite import SqliteDatabase

ACTIONS = ("up", "down", "copy", "gap")
TABLE = Table("feedback", (
    Column("at", "text", required=True),  # UTC, ISO 8601 with seconds
    Column("question", "text", required=True),
    Column("article_id", "text"),
    Column("action", "text", required=True, check=f"action IN ({', '.join(repr(a) for a in ACTIONS)})"),
    Column("index_version", "text"),
    Column("request_id", "text"),  # the /v1/suggest answer voted on; empty only in rows of older versions
    Column("client", "text"),  # a pseudonym of the voter's address (server.guard.client_key): caps its weight
), refusal="feedback is append-only", unique="request_id, COALESCE(article_id, ''), action")
COLUMNS = TABLE.column_names


@dataclass(frozen=True)
class FeedbackEvent:
    question: str
    action: str
    article_id: str | None
    index_version: str | None
    request_id: str | None = None
    client: str | None = None


def tied(row: tuple) -> bool:
    """Whether a row (``COLUMNS`` order) names the request it votes on: only those count anywhere."""
    return bool(row[COLUMNS.index("request_id")])


class FeedbackStore:
    """One short transaction per call: safe across the WSGI server's threads. ``db``: a Database, or the
    path of a SQLite file."""

    def __init__(self, db: Database | Path | str):
        self.db = db if isinstance(db, Database) else SqliteDatabase(db)
        self.db.create(TABLE)

    def add(self, event: FeedbackEvent, at: dt.datetime | None = None) -> int:
        """The row's id (a repeated vote: the first one's); see ``vote``."""
        return self.vote(event, at)[0]

    def vote(self, event: FeedbackEvent, at: dt.datetime | None = None) -> tuple[int, bool]:
        """(the row's id, whether it is new): a second vote of the same action on the same article of the
        same request is the first one again. StorageError when the database refuses it (the agent's client
        sees 503). Stamped now; ``at`` (an aware time) is for replaying a past week (the report's demo)."""
        at = (at or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc).isoformat(timespec="seconds")
        row = storable((at, mask(event.question), event.article_id, event.action, event.index_version,
                        event.request_id, event.client))
        try:
            with self.db.transaction() as session:
                cursor = session.execute(TABLE.insert_sql + self.db.returning_id, row)
                return int(cursor.fetchone()[0] if self.db.returning_id else cursor.lastrowid), True
        except self.db.integrity_errors as exc:
            first = self._first_vote(event) if event.request_id else None
            if first is None:
                raise StorageError(f"feedback not stored: {type(exc).__name__}") from None
            return first, False
        except self.db.errors as exc:
            raise StorageError(f"feedback not stored: {type(exc).__name__}") from None  # its text is a customer's

    def _first_vote(self, event: FeedbackEvent) -> int | None:
        with self.db.transaction() as session:
            found = session.execute(
                f"SELECT id FROM {TABLE.name} WHERE request_id = ? AND COALESCE(article_id, '') = ? AND action = ?",
                (event.request_id, event.article_id or "", event.action)).fetchone()
        return int(found[0]) if found else None

    def rows(self, since: str | None = None, until: str | None = None) -> Iterator[tuple]:
        """Rows in ``COLUMNS`` order, id order; ``since``/``until`` bound ``at`` (ISO UTC text)."""
        return self.db.rows(TABLE, since, until)

    def export_csv(self) -> Iterator[str]:
        return csv_pieces(COLUMNS, self.rows())
