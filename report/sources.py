"""Where the report reads its two tables from: the one place that opens them, through the storage
factory (``storage.stores.open_stores``): SQLite files, or PostgreSQL with ``database_url``.

The report only needs ``rows(since, until)`` (tuples in ``storage.feedback.COLUMNS`` and
``storage.querylog.COLUMNS`` order), the same from either backend.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from core.config import Config
from storage.stores import open_stores


@dataclass(frozen=True)
class Sources:
    feedback: Any  # .rows(since, until) → feedback tuples; .add(event, at) when writable
    query_log: Any  # .rows(since, until) → query-log tuples; .record(entry) when writable
    missing: tuple[str, ...] = ()  # SQLite files that do not exist yet (said in the report, not an error)
    close: Callable[[], None] = lambda: None  # writes what the query log holds, releases the databases


class _Nothing:
    """No file yet: reads as empty, so that a report on a wrong path creates no database."""

    def rows(self, since: str | None = None, until: str | None = None) -> Iterator[tuple]:
        return iter(())


def open_sources(config: Config, writable: bool = False) -> Sources:
    """The feedback and the query log the config names; ``writable`` for the replay demo, which appends
    to them (its query log records whatever the ``query_log`` setting says)."""
    if writable:
        stores = open_stores(config.replace(query_log=True))
        return Sources(stores.feedback, stores.query_log, (), stores.close)
    missing = () if config.database_url else \
        tuple(p for p in (config.query_log_db, config.feedback_db) if not Path(p).exists())
    if len(missing) == 2:
        return Sources(_Nothing(), _Nothing(), missing)
    stores = open_stores(config.replace(query_log=False))  # reading: no writer thread
    return Sources(stores.feedback, stores.query_log, missing, stores.close)
