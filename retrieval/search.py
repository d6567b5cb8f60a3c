"""The query-time pipeline: a question → the few articles worth sending, each with its best section.

Three arms propose candidates — dense (FAISS over section vectors), BM25
(jieba tokens) and the articles' known ``questions:`` phrasings (FAISS over
their vectors). Each arm ranks *articles*; the rankings are fused (RRF by
default), product hints demote sibling products, and each article is shown once
with its best-matching section.
"""
from __future__ import annotations

import datetime as dt
import time
from typing import Callable

from core.arms import ARMS, BM25, DENSE, QUESTIONS
from core.config import Config
from indexer.store import Index

from . import arms as arm, clauses, confidence, filters, products, sections
from .catalog import Catalog
from .encoder import QueryEncoder
from .fusion import fuse_arms
from .rewrite import PinyinLexicon
from .types import ArmRanking, DeadlineExceeded, Query, QueryError, SearchResult


class Searcher:
    """One loaded index, ready to answer; the server swaps in a new Searcher on reload."""

    def __init__(self, index: Index, encoder: QueryEncoder, config: Config,
                 today: Callable[[], dt.date] = dt.date.today):
        self.index = index
        self.encoder = encoder
        self.config = config
        self.today = today
        self.catalog = Catalog.of_index(index)
        self.lexicon = PinyinLexicon.of_index(index)

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
        arms = self._arms(query)
        today = self.today()
        include_expired = self.config.include_expired if query.include_expired is None else query.include_expired
        article_ok = filters.eligible(self.catalog, query, include_expired, today)
        text = self.lexicon.rewrite(query.text)  # pinyin spellings/initials (fahuo, bzq) → KB words
        mentioned = products.products_in(self.catalog, text, query.product)
        terms = set(self.index.tokenizer.tokens(text))
        asking = clauses.asking_part(text, self.config.max_embed_chars)  # BM25 sees all of text
        vector = self.encoder.encode(asking, deadline) if {DENSE, QUESTIONS} & set(arms) else None
        bm25_all = self.index.bm25.scores(sorted(terms)) if BM25 in arms else None  # sorted: float sums reproducible

        rankings = self._rankings(arms, vector, bm25_all, article_ok)
        fused = fuse_arms(rankings, query, self.config)
        products.demote_other_products(self.catalog, fused, mentioned, self.config.other_product_demotion)

        def order(article_id: str):
            fresh = self.articles[article_id].validity(today) == "valid"
            return (not fresh, -fused[article_id], article_id)

        ranked = sorted(fused, key=order)[: query.top_k]
        suggestions = tuple(sections.suggest(self.index, self.catalog, a, fused[a], vector, bm25_all, terms, today)
                            for a in ranked)
        evidence = confidence.evidence(suggestions, text, self.catalog, self.config)
        return SearchResult(suggestions, confidence.is_confident(suggestions, evidence, self.config), evidence,
                            self.index.version, (time.perf_counter() - started) * 1000.0, tuple(mentioned))

    def _arms(self, query: Query) -> tuple[str, ...]:
        wanted = tuple(query.arms or self.config.arms)
        unknown = set(wanted) - set(ARMS)
        if unknown or not wanted:
            raise QueryError(f"unknown retrieval arm(s) {sorted(unknown)}; use {', '.join(ARMS)}")
        return wanted

    def _rankings(self, wanted, vector, bm25_all, article_ok) -> list[ArmRanking]:
        pool, found = self.config.candidates, []
        if DENSE in wanted:
            found.append(arm.dense(self.index, self.catalog, vector, article_ok, pool))
        if BM25 in wanted:
            found.append(arm.bm25(self.index, self.catalog, bm25_all, article_ok, pool))
        if QUESTIONS in wanted and self.index.phrasings:
            found.append(arm.questions(self.index, self.catalog, vector, article_ok, pool))
        return found
