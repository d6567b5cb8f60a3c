"""The records query time hands around: a Query in, a SearchResult of Suggestions out."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np


class QueryError(ValueError):
    """The query cannot be answered as asked (bad filter, unknown arm, …)."""


class DeadlineExceeded(RuntimeError):
    """The request's deadline passed before its answer was ready (the server is overloaded)."""


@dataclass(frozen=True)
class Query:
    text: str
    top_k: int = 5
    category: str | None = None
    product: str | None = None
    include_expired: bool | None = None  # None: the config's default
    weights: Mapping[str, float] | None = None  # per-request arm weights, on top of the config's
    fusion: str | None = None  # None: the config's fusion method
    arms: tuple[str, ...] | None = None  # None: the config's arms
    hidden_categories: tuple[str, ...] = ()  # left out, as if the KB lacked them (eval: in-domain no-answer)


@dataclass(frozen=True)
class ArmRanking:
    """One arm's proposal: articles best first, and each one's best raw score in that arm."""

    arm: str
    ranking: tuple[str, ...]
    scores: Mapping[str, float]


@dataclass(frozen=True)
class Suggestion:
    article_id: str
    title: str
    category: str
    section: str
    anchor: str
    snippet: str
    highlights: tuple[tuple[int, int], ...]
    answer: str
    reply_template: str
    source: str
    score: float
    scores: Mapping[str, float]  # component evidence, one per arm
    products: tuple[str, ...]
    valid_until: str | None
    expired: bool
    other_sections: tuple[str, ...] = ()
    notice: str | None = None  # e.g. "活动已于 2025-11-11 结束" on an article whose validity ended


@dataclass(frozen=True)
class OutOfScope:
    """The question is nearer to something the shop does not handle than to its top suggestion."""

    topic: str
    example: str  # the nearest example question of that topic
    similarity: float  # its cosine to the question
    evidence: float  # the top suggestion's best cosine, which it beat


@dataclass(frozen=True)
class SearchResult:
    suggestions: tuple[Suggestion, ...]
    confident: bool
    confidence: float  # the evidence score compared with the threshold
    index_version: str
    took_ms: float
    products_detected: tuple[str, ...] = field(default=())
    signals: Mapping[str, float] = field(default_factory=dict)  # what the confidence was computed from
    vector: np.ndarray | None = field(default=None, repr=False, compare=False)  # the query embedding, for triage
    out_of_scope: OutOfScope | None = None  # what the shop does not handle, when the question is nearer to it
    unconfident_reason: str | None = None  # why not confident (retrieval.confidence.unconfident_reason)

