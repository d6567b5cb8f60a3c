"""The three retrieval arms. Each proposes articles, best first, with its best raw score per article."""
from __future__ import annotations

from typing import Iterable

import faiss
import numpy as np

from core.arms import BM25, DENSE, QUESTIONS
from indexer.store import Index

from .catalog import Catalog
from .types import ArmRanking

OVERFETCH = 3  # rows fetched per wanted article: several sections of one article may come first


def dense(index: Index, catalog: Catalog, vector: np.ndarray, article_ok: np.ndarray, pool: int) -> ArmRanking:
    """Cosine of the question to each section's vector."""
    chunk_ok = article_ok[catalog.chunk_article]
    hits = faiss_search(index.chunk_faiss, vector, pool * OVERFETCH, np.flatnonzero(chunk_ok))
    return by_article(DENSE, ((index.chunks[i].article_id, s) for i, s in hits), pool)


def bm25(index: Index, catalog: Catalog, bm25_all: np.ndarray, article_ok: np.ndarray, pool: int) -> ArmRanking:
    """BM25 of the question's tokens in each section (scores of every chunk, computed by the caller)."""
    scores = np.where(article_ok[catalog.chunk_article], bm25_all, 0.0)
    top = np.argsort(-scores, kind="stable")[: pool * OVERFETCH]
    return by_article(BM25, ((index.chunks[i].article_id, float(scores[i])) for i in top if scores[i] > 0), pool)


def questions(index: Index, catalog: Catalog, vector: np.ndarray, article_ok: np.ndarray,
              pool: int, phrasing_ok: np.ndarray | None = None) -> ArmRanking:
    """Cosine of the question to each article's title and known ``questions:`` phrasings
    (``phrasing_ok`` leaves some out: a training query must not find its own phrasing)."""
    if not index.phrasings:
        return ArmRanking(QUESTIONS, (), {})
    ok = article_ok[catalog.phrasing_article]
    allowed = np.flatnonzero(ok if phrasing_ok is None else ok & phrasing_ok)
    hits = faiss_search(index.phrasing_faiss, vector, pool * OVERFETCH, allowed)
    return by_article(QUESTIONS, ((index.phrasings[i].article_id, s) for i, s in hits), pool)


def by_article(arm: str, hits: Iterable[tuple[str, float]], pool: int) -> ArmRanking:
    """Rows (best first) → articles in order of their first row, each with that row's score."""
    ranking: list[str] = []
    best: dict[str, float] = {}
    for article_id, score in hits:
        if article_id not in best:
            ranking.append(article_id)
            best[article_id] = float(score)
    return ArmRanking(arm, tuple(ranking[:pool]), best)


def faiss_search(index, vector, k: int, allowed: np.ndarray) -> list[tuple[int, float]]:
    """Top-k (id, score) among ``allowed`` ids, using FAISS's id selector for the filter."""
    if vector is None or index.ntotal == 0 or len(allowed) == 0:
        return []
    params = None
    if len(allowed) < index.ntotal:
        params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed.astype(np.int64)))
    scores, ids = index.search(np.asarray(vector, dtype=np.float32)[None, :], min(k, len(allowed)), params=params)
    return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]
