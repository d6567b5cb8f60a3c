"""Service figures of the period: how much the suggester answered, how sure it was, how often agents took
the answer, and how fast."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from core.stats import percentile

from .load import Asked, Reaction


@dataclass(frozen=True)
class Service:
    questions: int  # answered questions (query-log rows)
    suggestions: int  # suggestions shown in those answers
    confident: int
    out_of_scope: int  # questions the shop does not handle (not KB gaps)
    feedback: dict[str, int]  # events per action: up, down, copy, gap
    latency_p50_ms: float | None
    latency_p95_ms: float | None

    @property
    def confident_share(self) -> float | None:
        return self.confident / self.questions if self.questions else None

    @property
    def adoption_rate(self) -> float | None:
        """Copies per answered question: how often an agent sent a suggestion on."""
        return self.feedback["copy"] / self.questions if self.questions else None


def service_figures(asked: tuple[Asked, ...], reactions: tuple[Reaction, ...]) -> Service:
    latencies = [a.latency_ms for a in asked if a.latency_ms is not None]
    actions = Counter(r.action for r in reactions)
    return Service(len(asked), sum(len(a.top_ids) for a in asked), sum(a.confident for a in asked),
                   sum(bool(a.out_of_scope) for a in asked),
                   {action: actions[action] for action in ("up", "down", "copy", "gap")},
                   percentile(latencies, 50) if latencies else None,
                   percentile(latencies, 95) if latencies else None)
