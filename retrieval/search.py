"""The query-time pipeline: a question → the few articles worth sending, each with its best section.

Three arms propose candidates — dense (FAISS over section vectors), BM25
(jieba tokens) and the articles' known ``questions:`` phrasings (FAISS over
their vectors). Each arm ranks *articles*; the rankings are fused (RRF), product
hints demote sibling products, and — when the index carries a learned model —
the model re-ranks the candidates from their features and gives the
calibrated confidence. A question worded exactly like a known phrasing of one
article puts that article first. Each article is shown once with its best section.
"""
from __future__ import annotations

import copy
import datetime as dt
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from core.arms import ARMS, BM25, DENSE, QUESTIONS
from core.config import Config
from indexer.learned import wording_key
from indexer.store import Index

from . import arms as arm, clauses, confidence, ended, filters, products, sections
from .catalog import Catalog
from .encoder import QueryEncoder
from .features import Candidates, candidate_features
from .fusion import fuse_arms
from .model import LearnedRanker
from .rewrite import PinyinLexicon
from .scope import Scope
from .types import ArmRanking, DeadlineExceeded, Query, QueryError, SearchResult


class Searcher:
    """One loaded index, ready to answer; the server swaps in a new Searcher on reload."""

    def __init__(self, index: Index, encoder: QueryEncoder | None, config: Config,
                 today: Callable[[], dt.date] = dt.date.today):
        self.index = index
        self.encoder = encoder
        self.config = config
        self.today = today
        self.catalog = Catalog.of_index(index)
        self.lexicon = PinyinLexicon.of_index(index)
        self.model = LearnedRanker.of_index(index) if config.ranker == "learned" else None
        self.scope = Scope.of_index(index)

    def on(self, day: dt.date) -> "Searcher":
        """The same index judged on another day (a past chat's), sharing everything loaded."""
        other = copy.copy(self)
        other.today = lambda: day
        return other

    @property
    def articles(self):
        return self.catalog.articles

    @property
    def categories(self) -> list[str]:
        return list(self.catalog.categories)

    @property
    def products(self) -> list[str]:
        return list(self.catalog.products)

    def search(self, query: Query, deadline: float | None = None) -> SearchResult:
        """``deadline`` (a ``time.monotonic()`` instant) bounds the wait for the embedder;
        past it, ``DeadlineExceeded``."""
        started = time.perf_counter()
        if deadline is not None and time.monotonic() > deadline:
            raise DeadlineExceeded("the request ran past its deadline")
        wanted = self._arms(query)
        today = self.today()
        include_expired = self.config.include_expired if query.include_expired is None else query.include_expired
        article_ok = filters.eligible(self.catalog, query, include_expired, today)
        text = self.lexicon.rewrite(query.text)  # pinyin spellings/initials (fahuo, bzq) → KB words
        asking = clauses.asking_part(text, self.config.max_embed_chars)  # BM25 sees all of text
        pending = self.encoder.submit(asking) if {DENSE, QUESTIONS} & set(wanted) else None
        try:  # the words and BM25 while a lane embeds: on another core, that time is off the request's
            words = self.lexical(query, text, wanted)
            vector = pending.result(deadline) if pending is not None else None
        except BaseException:
            if pending is not None:
                pending.cancel()
            raise
        found = self.candidates(query, text, vector, wanted, article_ok, words=words)
        scores = dict(zip(found.ids, found.rrf))
        learned = self.model is not None and query.weights is None and query.fusion is None \
            and set(wanted) == set(ARMS)
        if learned:
            scores = dict(zip(found.ids, self.model.scores(found.matrix).tolist()))

        known = self.catalog.known_wordings.get(wording_key(query.text)) if QUESTIONS in wanted else None

        def order(article_id: str):  # a known wording (a phrasing of one article, learned ones too) goes first
            fresh = self.articles[article_id].validity(today) == "valid"
            return (not fresh, article_id != known, -scores[article_id], article_id)

        ranked = sorted(scores, key=order)[: query.top_k]
        suggestions = tuple(sections.suggest(self.index, self.catalog, a, scores[a], vector, words.bm25_all,
                                             words.terms, today) for a in ranked)
        signals = confidence.signals(suggestions, found, text, self.catalog)
        value = confidence.probability(signals, self.config.confidence_bias, confidence.weights(self.config))
        if not include_expired:
            suggestions = self._ended_first(query, suggestions, vector, words, today)
        outside = self.scope.judge(query.text, vector, suggestions, self.config.scope_margin)
        reason = confidence.unconfident_reason(suggestions, value, self.config, query.text, outside)
        return SearchResult(suggestions, reason is None, value, self.index.version,
                            (time.perf_counter() - started) * 1000.0, words.mentioned,
                            signals=dict(zip(confidence.SIGNALS, signals)), vector=vector, out_of_scope=outside,
                            unconfident_reason=reason)

    def lexical(self, query: Query, text: str, wanted: tuple[str, ...]) -> "Words":
        """What the question's words give, no vector needed: its terms, every chunk's BM25, the products named."""
        terms = frozenset(self.index.tokenizer.tokens(text))
        bm25_all = self.index.bm25.scores(sorted(terms)) if BM25 in wanted else None  # sorted: reproducible sums
        return Words(terms, bm25_all, tuple(products.products_in(self.catalog, text, query.product)))

    def candidates(self, query: Query, text: str, vector: np.ndarray | None, wanted: tuple[str, ...],
                   article_ok: np.ndarray, phrasing_ok: np.ndarray | None = None,
                   words: "Words | None" = None) -> Candidates:
        """Arms → RRF → product hints → features: everything the rankers need, for search and training."""
        words = words or self.lexical(query, text, wanted)
        rankings = self._rankings(wanted, vector, words.bm25_all, article_ok, phrasing_ok)
        fused = fuse_arms(rankings, query, self.config)
        demoted = products.demote_other_products(self.catalog, fused, words.mentioned,
                                                 self.config.other_product_demotion)
        return candidate_features(self.index, self.catalog, rankings, fused, query.text, text, words.terms,
                                  words.mentioned, demoted)

    def _ended_first(self, query: Query, suggestions, vector, words: "Words", today: dt.date):
        """An ended article that matches better than the best valid suggestion goes first, flagged with its
        notice (and, being expired, makes the answer not confident)."""
        best = ended.best_ended(self.index, self.catalog, vector, ended.ended_mask(self.catalog, query, today))
        if best is None or (suggestions and best[1] <= ended.match_strength(suggestions[0].scores)
                            + self.config.ended_margin):
            return suggestions
        top = sections.suggest(self.index, self.catalog, best[0], suggestions[0].score if suggestions else 0.0,
                               vector, words.bm25_all, words.terms, today)
        return (top, *suggestions[: max(query.top_k - 1, 0)])

    def _arms(self, query: Query) -> tuple[str, ...]:
        wanted = tuple(query.arms or self.config.arms)
        unknown = set(wanted) - set(ARMS)
        if unknown or not wanted:
            raise QueryError(f"unknown retrieval arm(s) {sorted(unknown)}; use {', '.join(ARMS)}")
        return wanted

    def _rankings(self, wanted, vector, bm25_all, article_ok, phrasing_ok) -> list[ArmRanking]:
        pool, found = self.config.candidates, []
        if DENSE in wanted:
            found.append(arm.dense(self.index, self.catalog, vector, article_ok, pool))
        if BM25 in wanted:
            found.append(arm.bm25(self.index, self.catalog, bm25_all, article_ok, pool))
        if QUESTIONS in wanted and self.index.phrasings:
            found.append(arm.questions(self.index, self.catalog, vector, article_ok, pool, phrasing_ok))
        return found


@dataclass(frozen=True)
class Words:
    """The question's words and what they find, computed while its vector is on the way."""

    terms: frozenset[str]
    bm25_all: np.ndarray | None  # BM25 score of every chunk (None without the BM25 arm)
    mentioned: tuple[str, ...]  # the products the question names
