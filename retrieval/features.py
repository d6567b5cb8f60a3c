"""Per-candidate features for the learned ranker and the confidence model.

Computed the same way at build time (on pseudo-queries) and at query time, from
what the arms already returned: no extra embedding, a few array operations.
Scores are made comparable across queries and shops (ranks, ratios to the
arm's best, margins) so a model learned on one KB's phrasings carries over.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from core.arms import ARMS, BM25
from indexer.pinyin import PREFIX as PINYIN_PREFIX, has_han
from indexer.store import Index

from .catalog import Catalog
from .types import ArmRanking

_PER_ARM = ("score", "recip_rank", "gap_to_best", "best", "best_margin")
CANDIDATE_FEATURES = tuple(f"{arm}_{name}" for arm in ARMS for name in _PER_ARM) + (
    "rrf", "rrf_recip_rank", "arms_top3", "arms_present",
    "product_named", "product_match", "product_mismatch", "shop_wide",
    "coverage", "idf_coverage", "has_questions",
    "query_log_chars", "query_has_han", "query_latin_share", "query_rewritten",
)


@dataclass(frozen=True)
class Candidates:
    """The articles the arms proposed for one query, and one feature row each."""

    ids: tuple[str, ...]
    rrf: np.ndarray  # the hand-set fusion's score, the fallback ranking
    matrix: np.ndarray  # len(ids) × len(CANDIDATE_FEATURES), float32


def candidate_features(index: Index, catalog: Catalog, rankings: Sequence[ArmRanking], rrf: dict[str, float],
                       query_text: str, rewritten: str, words: frozenset[str], mentioned: Sequence[str],
                       demoted: set[str]) -> Candidates:
    ids = tuple(sorted(rrf, key=lambda a: (-rrf[a], a)))
    n = len(ids)
    columns: list[np.ndarray] = []
    by_arm = {r.arm: r for r in rankings}
    for arm in ARMS:
        columns.extend(_arm_columns(by_arm.get(arm), ids, normalise=arm == BM25))
    fused = np.array([rrf[a] for a in ids], dtype=np.float64)
    top3 = np.zeros(n)
    present = np.zeros(n)
    for ranking in rankings:
        position = {a: i for i, a in enumerate(ranking.ranking)}
        top3 += np.array([position.get(a, 99) < 3 for a in ids], dtype=float)
        present += np.array([a in ranking.scores for a in ids], dtype=float)
    columns += [fused / (fused.max() if n and fused.max() > 0 else 1.0), 1.0 / np.arange(1, n + 1), top3, present]
    named = bool(mentioned)
    products = [catalog.article_products[a] for a in ids]
    columns += [np.full(n, float(named)),
                np.array([named and a not in demoted and bool(p) for a, p in zip(ids, products)], dtype=float),
                np.array([a in demoted for a in ids], dtype=float),
                np.array([not p for p in products], dtype=float)]
    columns += list(_coverage(index, catalog, ids, words))
    columns.append(np.array([len(catalog.phrasings_of.get(a, ())) > 1 for a in ids], dtype=float))  # title + questions
    latin = sum(ch.isascii() and ch.isalpha() for ch in query_text)
    query = [math.log1p(len(query_text)), float(has_han(query_text)), latin / max(len(query_text), 1),
             float(rewritten != query_text)]
    columns += [np.full(n, value) for value in query]
    matrix = np.column_stack(columns).astype(np.float32) if n else np.zeros((0, len(CANDIDATE_FEATURES)), np.float32)
    return Candidates(ids, fused, matrix)


def _arm_columns(ranking: ArmRanking | None, ids: tuple[str, ...], normalise: bool) -> list[np.ndarray]:
    n = len(ids)
    if ranking is None or not ranking.scores:
        return [np.zeros(n) for _ in _PER_ARM]
    ordered = sorted(ranking.scores.values(), reverse=True)
    best = ordered[0]
    second = ordered[1] if len(ordered) > 1 else 0.0
    scale = best if normalise and best > 0 else 1.0
    scores = np.array([ranking.scores.get(a, 0.0) for a in ids]) / scale
    position = {a: i for i, a in enumerate(ranking.ranking, start=1)}
    recip = np.array([1.0 / position[a] if a in position else 0.0 for a in ids])
    top = best / scale
    return [scores, recip, top - scores, np.full(n, top), np.full(n, (best - second) / scale)]


def _coverage(index: Index, catalog: Catalog, ids: tuple[str, ...], words: frozenset[str]) -> tuple[np.ndarray, np.ndarray]:
    """Share of the question's words (plain and IDF-weighted) found in each candidate article's
    sections: an article that shares one word with an out-of-scope question covers little of it."""
    n = len(ids)
    words = {w for w in words if not w.startswith(PINYIN_PREFIX)}
    if not words or not n:
        return np.zeros(n), np.zeros(n)
    bm25 = index.bm25
    article_row = np.full(len(catalog.article_ids), -1)
    article_row[[catalog.position[a] for a in ids]] = np.arange(n)
    unknown_idf = math.log(1.0 + (bm25.n_docs + 0.5) / 0.5)
    hits, weighted = np.zeros(n), np.zeros(n)
    total = 0.0
    for word in words:
        term = bm25.vocab.get(word)
        weight = bm25.idf(word) if term is not None else unknown_idf
        total += weight
        if term is None:
            continue
        docs = bm25.docs[bm25.term_ptr[term]: bm25.term_ptr[term + 1]]
        rows = np.unique(article_row[catalog.chunk_article[docs]])
        rows = rows[rows >= 0]
        hits[rows] += 1.0
        weighted[rows] += weight
    return hits / len(words), weighted / total if total > 0 else weighted
