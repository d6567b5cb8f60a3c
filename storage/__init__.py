"""The service's own records (agents' feedback, the query log), append-only: below the report and the server,
which both read them. ``storage.stores.open_stores(config)`` opens both, in SQLite or PostgreSQL.
(Nothing heavier is imported here: ``python -m storage.querylog`` must not find its module loaded already.)"""
from .db import Database, StorageError

__all__ = ["Database", "StorageError"]
