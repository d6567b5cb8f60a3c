"""Hot-spots: questions per intent and per day, and how many were urgent or angry (the triage's labels).

The shares count only questions that carry triage labels: an index built before the triage data existed logs
none, and its report says so instead of showing 0% angry.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .load import Asked
from .period import Period


@dataclass(frozen=True)
class Tally:
    """Questions under one label (an intent, a day), and how many of the labelled ones were urgent or angry."""

    label: str
    questions: int
    labelled: int
    urgent: int
    angry: int

    @property
    def urgent_share(self) -> float | None:
        return self.urgent / self.labelled if self.labelled else None

    @property
    def angry_share(self) -> float | None:
        return self.angry / self.labelled if self.labelled else None


@dataclass(frozen=True)
class Hotspots:
    per_intent: tuple[Tally, ...]  # most asked first
    per_day: tuple[Tally, ...]  # every day of the period, quiet ones too
    overall: Tally


def hotspots(asked: tuple[Asked, ...], period: Period) -> Hotspots:
    by_intent: dict[str, list[Asked]] = {}
    by_day: dict[dt.date, list[Asked]] = {day: [] for day in period.days}
    for a in asked:
        if a.intent:
            by_intent.setdefault(a.intent, []).append(a)
        by_day.setdefault(a.day, []).append(a)
    intents = sorted((_tally(label, rows) for label, rows in by_intent.items()), key=lambda t: (-t.questions, t.label))
    days = tuple(_tally(day.isoformat(), rows) for day, rows in sorted(by_day.items()))
    return Hotspots(tuple(intents), days, _tally("all", list(asked)))


def _tally(label: str, rows: list[Asked]) -> Tally:
    labelled = [a for a in rows if a.intent]
    return Tally(label, len(rows), len(labelled), sum(a.urgency == "high" for a in labelled),
                 sum(a.emotion == "angry" for a in labelled))
