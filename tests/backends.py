"""The two storage backends as the storage tests see them: the same tests run on each (``backend`` fixture).
Each knows its settings, how to run a raw statement (as an intruder would) and how to read every byte it
stored, for the tests that search the database for unmasked text."""
from __future__ import annotations

import sqlite3
from pathlib import Path

from core.config import Config
from storage.stores import Stores, open_stores
from storage.connect import open_database
from storage.db import Database


class SqliteBackend:
    name = "sqlite"
    errors = (sqlite3.Error,)
    integrity_error = sqlite3.IntegrityError

    def __init__(self, config: Config):
        self.config = config
        self.opened: list = []

    def file(self, table: str) -> Path:
        return Path(self.config.feedback_db if table == "feedback" else self.config.query_log_db)

    def stores(self, **settings) -> Stores:
        stores = open_stores(self.config.replace(**settings))
        self.opened.append(stores)
        return stores

    def database(self, table: str) -> Database:
        """Another handle on the table's database: what a second server replica would open."""
        db = open_database(self.config.database_url, self.file(table))
        self.opened.append(db)
        return db

    def env(self) -> dict[str, str]:
        return {"KBS_FEEDBACK_DB": self.config.feedback_db, "KBS_QUERY_LOG_DB": self.config.query_log_db}

    def execute(self, table: str, sql: str) -> None:
        with sqlite3.connect(self.file(table)) as db:
            db.execute(sql)

    def table(self, table: str) -> list[dict]:
        with sqlite3.connect(self.file(table)) as db:
            db.row_factory = sqlite3.Row
            return [dict(r) for r in db.execute(f"SELECT * FROM {table} ORDER BY 1")]

    def stored_bytes(self) -> bytes:
        """Every file next to the databases (the WAL included)."""
        folder = self.file("query_log").parent
        return b"".join(p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and "sqlite3" in p.name)

    def close(self) -> None:
        for opened in reversed(self.opened):
            opened.close()


class PostgresBackend(SqliteBackend):
    name = "postgres"

    def __init__(self, config: Config, cluster):
        import psycopg

        super().__init__(config)
        self.cluster, self.psycopg = cluster, psycopg
        self.errors = (psycopg.Error,)
        self.integrity_error = psycopg.IntegrityError

    def env(self) -> dict[str, str]:
        return {"KBS_DATABASE_URL": self.config.database_url}

    def _connect(self):
        return self.psycopg.connect(self.config.database_url, autocommit=True)

    def execute(self, table: str, sql: str) -> None:
        with self._connect() as conn:
            conn.execute(sql)

    def table(self, table: str) -> list[dict]:
        with self._connect() as conn, conn.cursor(row_factory=self.psycopg.rows.dict_row) as cursor:
            return cursor.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()

    def stored_bytes(self) -> bytes:
        """After a checkpoint: this test's database files, the shared catalogs, the WAL and the server's log
        (which logs every statement with its parameters: log_statement=all)."""
        with self._connect() as conn:
            conn.execute("CHECKPOINT")
            oid = conn.execute("SELECT oid FROM pg_database WHERE datname = current_database()").fetchone()[0]
        data = self.cluster.data
        folders = [data / "base" / str(oid), data / "global", data / "pg_wal"]
        files = [p for folder in folders for p in sorted(folder.rglob("*")) if p.is_file()]
        return b"".join(p.read_bytes() for p in files) + self.cluster.log.read_bytes()


# Statements that would change or remove a stored row, as each backend spells them; all must be refused.
_INSERT_ID_1 = {"feedback": ("id, at, question, action", "1, 't', 'overwritten', 'gap'"),
                "query_log": ("id, at, endpoint, question, top_ids, top_scores, confident",
                              "1, 't', 'suggest', 'overwritten', '[]', '[]', 0")}
_COMMON = ("UPDATE {t} SET question = 'overwritten'", "DELETE FROM {t}", "DELETE FROM {t} WHERE id = 1",
           "DELETE FROM {t} WHERE at < 'z'")
ATTACKS = {
    "sqlite": _COMMON + ("INSERT OR REPLACE INTO {t} ({c}) VALUES ({v})", "REPLACE INTO {t} ({c}) VALUES ({v})",
                         "INSERT INTO {t} ({c}) VALUES ({v}) ON CONFLICT(id) DO UPDATE SET question = excluded.question"),
    "postgres": _COMMON + (
        "INSERT INTO {t} ({c}) OVERRIDING SYSTEM VALUE VALUES ({v}) ON CONFLICT (id) DO UPDATE SET question = 'x'",
        "TRUNCATE {t}", "TRUNCATE {t} RESTART IDENTITY CASCADE",
        "MERGE INTO {t} USING (SELECT 1 AS n) s ON {t}.id = s.n WHEN MATCHED THEN DELETE",
        "MERGE INTO {t} USING (SELECT 1 AS n) s ON {t}.id = s.n WHEN MATCHED THEN UPDATE SET question = 'x'"),
}


def attacks(backend: str, table: str) -> list[str]:
    columns, values = _INSERT_ID_1[table]
    return [sql.format(t=table, c=columns, v=values) for sql in ATTACKS[backend]]
