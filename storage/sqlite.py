"""The default backend: one SQLite file per table (WAL), nothing to install."""
from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .db import READ_BATCH, Database, Table

TYPES = {"text": "TEXT", "integer": "INTEGER", "real": "REAL"}


def ddl(table: Table) -> str:
    t, refuse = table.name, f"BEGIN SELECT RAISE(ABORT, '{table.refusal}'); END"
    columns = table.column_sql(TYPES)
    parts = [f"CREATE TABLE IF NOT EXISTS {t} (id INTEGER PRIMARY KEY AUTOINCREMENT, {columns})"]
    delete_when = ""
    if table.prunable:  # a row in the maintenance table is a prune in progress
        parts.append(f"CREATE TABLE IF NOT EXISTS {table.maintenance} (cutoff TEXT NOT NULL)")
        delete_when = f"WHEN NOT EXISTS (SELECT 1 FROM {table.maintenance} WHERE OLD.at < cutoff) "
    parts += [
        f"CREATE TRIGGER IF NOT EXISTS {t}_no_update BEFORE UPDATE ON {t} {refuse}",
        f"CREATE TRIGGER IF NOT EXISTS {t}_no_delete BEFORE DELETE ON {t} {delete_when}{refuse}",
        # REPLACE (INSERT OR REPLACE, REPLACE INTO) deletes the old row without firing the delete
        # trigger: refuse any insert that names an id already taken.
        f"CREATE TRIGGER IF NOT EXISTS {t}_no_replace BEFORE INSERT ON {t} "
        f"WHEN NEW.id IS NOT NULL AND EXISTS (SELECT 1 FROM {t} WHERE id = NEW.id) {refuse}",
    ]
    return ";\n".join(parts) + ";"


class SqliteConnection:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")  # the write lock first: no deadlock between two writers
        try:
            yield self.db
        except BaseException:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def close(self) -> None:
        self.db.close()


class SqliteDatabase(Database):
    """One file. ``synchronous``: FULL fsyncs every commit; NORMAL (the query log's, in WAL mode) may lose
    the last commits to a power cut, never to a crash of the process."""

    errors = (sqlite3.Error,)
    integrity_errors = (sqlite3.IntegrityError,)  # a unique index (or a check) refused the row
    returning_id = ""  # SQLite before 3.35 knows no RETURNING; lastrowid is the new id

    def __init__(self, path: Path | str, synchronous: str = "FULL"):
        self.path = Path(path)
        self.where = str(self.path)
        self.synchronous = synchronous

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None)  # transactions are ours
        db.execute(f"PRAGMA synchronous={self.synchronous}")
        return db

    def create(self, table: Table) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = self._open()
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(ddl(table))
            existing = {row[1] for row in db.execute(f"PRAGMA table_info({table.name})")}
            for statement in [*table.add_columns_sql(existing, TYPES), *table.index_sql()]:
                db.execute(statement)
        finally:
            db.close()

    def connect(self) -> SqliteConnection:
        return SqliteConnection(self._open())

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        connection = self.connect()
        try:
            with connection.transaction() as session:
                yield session
        finally:
            connection.close()

    def rows(self, table: Table, since: str | None = None, until: str | None = None) -> Iterator[tuple]:
        if not self.path.exists():  # reading never creates the file
            return
        sql, params = table.select_sql(since, until)
        db = self._open()
        try:
            cursor = db.execute(sql, params)
            while batch := cursor.fetchmany(READ_BATCH):
                yield from batch
        finally:
            db.close()
