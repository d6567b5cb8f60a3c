"""Ranking and abstention metrics, each a small pure function (unit-tested on hand-computed cases)."""
from __future__ import annotations

import math
from typing import Sequence

from core.stats import percentile  # noqa: F401 - re-exported: the harness and the benchmarks import it here


def recall_at(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """Share of the relevant ids found in the top k."""
    return len(set(ranked[:k]) & relevant) / len(relevant) if relevant else 0.0


def first_relevant_rank(ranked: Sequence[str], relevant: set[str], k: int) -> int | None:
    """Position (1-based) of the first relevant id in the top k; None when there is none."""
    return next((position for position, item in enumerate(ranked[:k], start=1) if item in relevant), None)


def reciprocal_rank(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    rank = first_relevant_rank(ranked, relevant, k)
    return 1.0 / rank if rank else 0.0


def ndcg_at(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """Binary-relevance nDCG: DCG of the ranking over DCG of the ideal one."""
    dcg = sum(1.0 / math.log2(i + 1) for i, item in enumerate(ranked[:k], start=1) if item in relevant)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(relevant), k) + 1))
    return dcg / ideal if ideal else 0.0


def abstention(no_answer: Sequence[bool], abstained: Sequence[bool]) -> dict[str, float]:
    """Quality of ``confident: false``: precision and recall on no-answer questions,
    and how often it wrongly fires on answerable ones."""
    pairs = list(zip(no_answer, abstained))
    abstain_right = sum(1 for n, a in pairs if n and a)
    abstain_all = sum(1 for _, a in pairs if a)
    no_answer_all = sum(1 for n, _ in pairs if n)
    answerable_all = len(pairs) - no_answer_all
    false_abstain = sum(1 for n, a in pairs if not n and a)
    return {
        "abstain_precision": abstain_right / abstain_all if abstain_all else 0.0,
        "abstain_recall": abstain_right / no_answer_all if no_answer_all else 0.0,
        "false_abstain_rate": false_abstain / answerable_all if answerable_all else 0.0,
    }
