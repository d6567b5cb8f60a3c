"""Questions → groups of the same question asked in several ways (the TOP10 and the KB gaps both use it)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Sequence

from .cluster import cluster
from .embedding import QuestionVectors, question_key

EXAMPLES = 3


@dataclass(frozen=True)
class Group:
    members: tuple[int, ...]  # positions in the texts given to ``group_questions``
    examples: tuple[str, ...]  # up to EXAMPLES wordings, the most asked question's first


def group_questions(texts: Sequence[str], vectors: QuestionVectors, similarity: float) -> list[Group]:
    """Largest group first. Messages with the same ``question_key`` are one point, weighted by count."""
    keys = [question_key(t) for t in texts]
    counts = Counter(keys)
    distinct = sorted(counts, key=lambda k: (-counts[k], k))
    position = {k: i for i, k in enumerate(distinct)}
    items_of: list[list[int]] = [[] for _ in distinct]
    for item, key in enumerate(keys):
        items_of[position[key]].append(item)
    groups = []
    for rows in cluster(vectors.of(distinct), [counts[k] for k in distinct], similarity):
        members = tuple(sorted(item for row in rows for item in items_of[row]))
        groups.append(Group(members, _examples([[texts[i] for i in items_of[row]] for row in rows[:EXAMPLES]])))
    return groups


def _examples(wordings_per_question: list[list[str]]) -> tuple[str, ...]:
    """The most asked questions, each in its usual wording; when the group has fewer than
    ``EXAMPLES`` questions, their other wordings fill up (most used first)."""
    firsts = [most_common(w)[0] for w in wordings_per_question]
    others = Counter(t for w in wordings_per_question for t in w if t not in firsts)
    return tuple(firsts + sorted(others, key=lambda t: (-others[t], t)))[:EXAMPLES]


def most_common(values) -> tuple[str | None, int]:
    """The most frequent non-empty value and its count (ties: the smallest value, so reports are stable)."""
    counts = Counter(v for v in values if v)
    if not counts:
        return None, 0
    value = min(counts, key=lambda v: (-counts[v], v))
    return value, counts[value]
