"""PostgreSQL: one database that every server replica shares (``database_url``; ``pip install
'kb-suggest[postgres]'``). Request threads borrow connections from a small pool; the query log's
writer keeps a connection of its own. Needs PostgreSQL 14 or later (CREATE OR REPLACE TRIGGER).

Append-only as in SQLite, plus what PostgreSQL adds: row triggers refuse UPDATE (which also stops
``INSERT … ON CONFLICT DO UPDATE`` and MERGE) and DELETE (but a prune's), a statement trigger refuses
TRUNCATE, and ``id`` is GENERATED ALWAYS. Text compares byte by byte (COLLATE "C"), like SQLite, so
``at`` ranges select the same rows on both.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator, Sequence

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import ConnectionPool

from .db import READ_BATCH, Database, StorageError, Table, one_line, redact

TYPES = {"text": 'TEXT COLLATE "C"', "integer": "INTEGER", "real": "DOUBLE PRECISION"}
CONNECT_TIMEOUT_S = 5  # unless the URL sets connect_timeout
POOL_WAIT_S = 5.0  # a request waits at most this long for a pooled connection
SCHEMA_LOCK = 0x6B6273  # advisory lock: replicas starting together create the tables one at a time
_REFUSE = """CREATE OR REPLACE FUNCTION kbs_refuse() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    RAISE EXCEPTION USING MESSAGE = TG_ARGV[0], ERRCODE = 'integrity_constraint_violation';
END $fn$"""


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def ddl(table: Table) -> str:
    t, refusal = table.name, _literal(table.refusal)
    columns = table.column_sql(TYPES)
    parts = [_REFUSE, f"CREATE TABLE IF NOT EXISTS {t} (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
                      f"{columns})"]
    on_delete = "kbs_refuse"
    if table.prunable:  # a row in the maintenance table is a prune in progress (visible to its own transaction)
        on_delete = f"{t}_prune_only"
        parts += [f'CREATE TABLE IF NOT EXISTS {table.maintenance} (cutoff TEXT COLLATE "C" NOT NULL)',
                  f"""CREATE OR REPLACE FUNCTION {on_delete}() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF EXISTS (SELECT 1 FROM {table.maintenance} WHERE OLD.at < cutoff) THEN RETURN OLD; END IF;
    RAISE EXCEPTION USING MESSAGE = TG_ARGV[0], ERRCODE = 'integrity_constraint_violation';
END $fn$"""]
    parts += [f"CREATE OR REPLACE TRIGGER {t}_{name} BEFORE {event} ON {t} FOR EACH {level} "
              f"EXECUTE FUNCTION {function}({refusal})"
              for name, event, level, function in (("no_update", "UPDATE", "ROW", "kbs_refuse"),
                                                   ("no_delete", "DELETE", "ROW", on_delete),
                                                   ("no_truncate", "TRUNCATE", "STATEMENT", "kbs_refuse"))]
    return ";\n".join(parts) + ";"


def _pg(sql: str) -> str:
    return sql.replace("?", "%s")


class PgSession:
    def __init__(self, cursor: psycopg.Cursor):
        self.cursor = cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor:
        return self.cursor.execute(_pg(sql), params or None)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.cursor.executemany(_pg(sql), rows)


class PgConnection:
    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    @contextmanager
    def transaction(self) -> Iterator[PgSession]:
        with self.conn.transaction(), self.conn.cursor() as cursor:
            yield PgSession(cursor)

    def close(self) -> None:
        self.conn.close()


class PostgresDatabase(Database):
    """Connects once on creation, so that a wrong URL or an unreachable server stops the start with one line."""

    errors = (psycopg.Error,)
    integrity_errors = (psycopg.IntegrityError,)  # a unique index (or a check) refused the row

    def __init__(self, url: str, pool_size: int = 4):
        self.where = redact(url)
        try:
            given = conninfo_to_dict(url)
            defaults = {"connect_timeout": CONNECT_TIMEOUT_S, "application_name": "kb-suggest"}
            self._conninfo = make_conninfo(url, **{k: v for k, v in defaults.items() if k not in given})
            psycopg.connect(self._conninfo).close()
        except psycopg.Error as exc:
            raise StorageError(f"cannot connect to the database {self.where}: {one_line(exc, url)}") from None
        self._pool = ConnectionPool(self._conninfo, min_size=1, max_size=max(1, pool_size), timeout=POOL_WAIT_S,
                                    name="kb-suggest", check=ConnectionPool.check_connection, open=True)

    def create(self, table: Table) -> None:
        with self.transaction() as session:
            session.execute("SELECT pg_advisory_xact_lock(?)", (SCHEMA_LOCK,))
            session.execute(ddl(table))  # no parameters: several statements in one go
            existing = {row[0] for row in session.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = ?", (table.name,)).fetchall()}
            for statement in [*table.add_columns_sql(existing, TYPES), *table.index_sql()]:
                session.execute(statement)

    def connect(self) -> PgConnection:
        return PgConnection(psycopg.connect(self._conninfo, autocommit=True))

    @contextmanager
    def transaction(self) -> Iterator[PgSession]:
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cursor:
            yield PgSession(cursor)

    def rows(self, table: Table, since: str | None = None, until: str | None = None) -> Iterator[tuple]:
        """On a connection of its own, not the pool's: an export streamed to a slow client holds it for as
        long as the download lasts, and the agents' feedback must not wait for a pooled one meanwhile."""
        sql, params = table.select_sql(since, until)
        with psycopg.connect(self._conninfo) as conn:
            if conn.execute("SELECT to_regclass(%s)", (table.name,)).fetchone()[0] is None:
                return
            with conn.cursor(name=f"kbs_{table.name}_rows") as cursor:  # server-side: read in batches
                cursor.execute(_pg(sql), params or None)
                while batch := cursor.fetchmany(READ_BATCH):
                    yield from batch

    def close(self) -> None:
        self._pool.close()
