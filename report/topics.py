"""The TOP10 question clusters of the period: what customers asked most, and what they were answered with."""
from __future__ import annotations

from dataclasses import dataclass

from .groups import group_questions, most_common
from .embedding import QuestionVectors
from .load import Asked

TOP = 10


@dataclass(frozen=True)
class Topic:
    size: int  # questions asked
    examples: tuple[str, ...]
    article_id: str | None  # the article suggested first most often
    article_share: float  # share of the questions it came first for
    confident_share: float


def top_topics(asked: tuple[Asked, ...], vectors: QuestionVectors, similarity: float, top: int = TOP
               ) -> tuple[Topic, ...]:
    topics = []
    for group in group_questions([a.question for a in asked], vectors, similarity)[:top]:
        rows = [asked[i] for i in group.members]
        article, times = most_common(a.top_ids[0] if a.top_ids else None for a in rows)
        topics.append(Topic(len(rows), group.examples, article, times / len(rows),
                            sum(a.confident for a in rows) / len(rows)))
    return tuple(topics)
