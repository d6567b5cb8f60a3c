"""Which database the settings name: PostgreSQL at ``database_url`` when it is set, else a SQLite file."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from .db import Database, StorageError
from .sqlite import SqliteDatabase

SCHEMES = ("postgresql", "postgres")


def open_database(url: str, sqlite_path: Path | str, pool_size: int = 4, synchronous: str = "FULL") -> Database:
    """PostgreSQL at ``url``, or (``url`` empty) the SQLite file ``sqlite_path``. StorageError, in one line
    without the password, when the URL is wrong or the server unreachable: the start stops there."""
    if not url:
        return SqliteDatabase(sqlite_path, synchronous)
    try:
        scheme = urlsplit(url).scheme
    except ValueError:
        raise StorageError("database_url is not a URL (postgresql://user@host:5432/db)") from None
    if scheme not in SCHEMES:
        raise StorageError("database_url must be a postgresql:// URL (or empty: the SQLite files feedback_db "
                           "and query_log_db)")
    try:
        from .postgres import PostgresDatabase
    except ImportError:
        raise StorageError("database_url needs psycopg: pip install 'kb-suggest[postgres]'") from None
    return PostgresDatabase(url, pool_size)
