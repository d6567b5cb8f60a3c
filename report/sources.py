"""Where the report reads its two tables from: the one place that opens them.

The stores only need ``rows(since, until)`` (tuples in ``storage.feedback.COLUMNS`` and
``storage.querylog.COLUMNS`` order), so another backend behind a factory serves as well: point
``open_sources`` at it and nothing else in the report changes.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from core.config import Config
from storage.feedback import FeedbackStore
from storage.querylog import QueryLog


@dataclass(frozen=True)
class Sources:
    feedback: Any  # .rows(since, until) → feedback tuples; .add(event, at) when writable
    query_log: Any  # .rows(since, until) → query-log tuples; .record(entry) when writable
    missing: tuple[str, ...] = ()  # sources that hold nothing yet (said in the report, not an error)


class _Nothing:
    """A source that does not exist yet reads as empty: reading must not create files."""

    def rows(self, since: str | None = None, until: str | None = None) -> Iterator[tuple]:
        return iter(())


def open_sources(config: Config, writable: bool = False) -> Sources:
    """The feedback and the query log the config names; ``writable`` for the replay demo,
    which appends to them."""
    feedback_path, log_path = Path(config.feedback_db), Path(config.query_log_db)
    missing = tuple(str(p) for p in (log_path, feedback_path) if not writable and not p.exists())
    feedback = FeedbackStore(feedback_path) if writable or feedback_path.exists() else _Nothing()
    query_log = QueryLog(log_path, enabled=writable, queue_size=config.query_log_queue)
    return Sources(feedback, query_log, missing)
