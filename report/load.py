"""Load one period of the query log and the feedback into small records the report's sections share."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from core.masking import mask
from storage import feedback as feedback_table, querylog as querylog_table

from .period import Period
from .sources import Sources


@dataclass(frozen=True)
class Asked:
    """One answered question (a query-log row); ``question`` masked again here (masking a masked text
    changes nothing; a row an older version stored may hold what today's masking catches)."""

    day: dt.date
    question: str
    top_ids: tuple[str, ...]
    confident: bool
    latency_ms: float | None
    intent: str | None
    urgency: str | None
    emotion: str | None
    out_of_scope: str | None = None  # the topic, when the shop does not handle such questions


@dataclass(frozen=True)
class Reaction:
    """One agent's feedback event: ``up``, ``down``, ``copy`` or ``gap``; ``question`` masked again here."""

    day: dt.date
    question: str
    article_id: str | None
    action: str


@dataclass(frozen=True)
class Traffic:
    period: Period
    asked: tuple[Asked, ...]
    reactions: tuple[Reaction, ...]

    @property
    def empty(self) -> bool:
        return not self.asked and not self.reactions


def load_traffic(sources: Sources, period: Period) -> Traffic:
    since, until = period.bounds()
    log = {name: i for i, name in enumerate(querylog_table.COLUMNS)}
    asked = tuple(
        Asked(period.day_of(row[log["at"]]), mask(row[log["question"]]), tuple(json.loads(row[log["top_ids"]] or "[]")),
              bool(row[log["confident"]]), row[log["latency_ms"]], row[log["intent"]] or None,
              row[log["urgency"]] or None, row[log["emotion"]] or None, row[log["out_of_scope"]] or None)
        for row in sources.query_log.rows(since, until))
    fb = {name: i for i, name in enumerate(feedback_table.COLUMNS)}
    reactions = tuple(
        Reaction(period.day_of(row[fb["at"]]), mask(row[fb["question"]]), row[fb["article_id"]] or None,
                 row[fb["action"]])
        for row in sources.feedback.rows(since, until) if feedback_table.tied(row))  # untied: counted nowhere
    return Traffic(period, asked, reactions)
