"""Ended articles (last year's 双11 rules, an old batch): when the question is about one of them, say
that it ended instead of passing off a valid article — or the ended one — as a confident answer.

An ended article is not a candidate; it is looked up beside the search, among
ended articles only (a few FAISS rows, the query vector already computed), and
comes back only when it matches the question better than the best valid
suggestion does.
"""
from __future__ import annotations

import datetime as dt
from typing import Mapping

import numpy as np

from core.arms import DENSE, QUESTIONS
from indexer.records import Article
from indexer.store import Index

from . import arms, filters
from .catalog import Catalog
from .types import Query

PROMOTION_CATEGORY = "活动优惠"


def ended_mask(catalog: Catalog, query: Query, today: dt.date) -> np.ndarray:
    """Articles whose validity ended, within the query's category and product filters."""
    ended = catalog.valid_until < today.toordinal()
    if not ended.any():
        return ended
    return ended & filters.eligible(catalog, query, True, today)


def best_ended(index: Index, catalog: Catalog, vector: np.ndarray | None, mask: np.ndarray) -> tuple[str, float] | None:
    """The ended article closest to the question, and its best cosine (section or phrasing)."""
    if vector is None or not mask.any():
        return None
    found: dict[str, float] = {}
    for ranking in (arms.dense(index, catalog, vector, mask, 1), arms.questions(index, catalog, vector, mask, 1)):
        for article_id, score in ranking.scores.items():
            found[article_id] = max(found.get(article_id, -1.0), score)
    if not found:
        return None
    article_id = max(found, key=lambda a: (found[a], a))
    return article_id, found[article_id]


def match_strength(scores: Mapping[str, float]) -> float:
    """How well an article matches: its best cosine, to a section or a phrasing (the scale ``best_ended``
    and the out-of-scope test compare against)."""
    return max(scores.get(DENSE, 0.0), scores.get(QUESTIONS, 0.0))


def notice(article: Article) -> str:
    ended = article.valid_until.isoformat() if article.valid_until else "?"
    if article.category == PROMOTION_CATEGORY:
        return f"活动已于 {ended} 结束"
    return f"本条内容已于 {ended} 失效"
