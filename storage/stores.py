"""The one factory of the stores: ``open_stores(config)`` puts feedback and the query log in SQLite files (the
default) or, with ``database_url``, in one PostgreSQL database that several server replicas share."""
from __future__ import annotations

from dataclasses import dataclass

from core.config import Config

from .connect import open_database
from .db import Database, StorageError, one_line
from .feedback import FeedbackStore
from .querylog import QueryLog


@dataclass(frozen=True)
class Stores:
    feedback: FeedbackStore
    query_log: QueryLog

    def close(self) -> None:
        """Write what the query log still holds, then release the databases (PostgreSQL's pool)."""
        self.query_log.close()
        self.feedback.db.close()
        if self.query_log.db is not self.feedback.db:
            self.query_log.db.close()


def open_stores(config: Config) -> Stores:
    """Both tables, created where missing. StorageError (one line, no password) when a database cannot be
    reached or written: the server stops at its start, not at its first request."""
    url = config.database_url
    if url:
        feedback_db = log_db = open_database(url, "", config.database_pool_size)  # one pool for both tables
    else:
        feedback_db = open_database("", config.feedback_db)
        log_db = open_database("", config.query_log_db, synchronous="NORMAL")  # see QueryLog
    try:
        return Stores(_create(FeedbackStore, feedback_db, url),
                      _create(QueryLog, log_db, url, config.query_log, config.query_log_queue))
    except StorageError:
        feedback_db.close()
        log_db.close()
        raise


def _create(store, db: Database, url: str, *args):
    try:
        return store(db, *args)
    except (*db.errors, OSError) as exc:
        raise StorageError(f"cannot create the {store.__name__} tables in {db.where}: {one_line(exc, url)}") from None
