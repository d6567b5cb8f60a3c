"""Search stage: a question → the few articles worth sending, each with its best section.

The server and the eval harness both call ``Searcher.search``: one code path.

Three arms propose candidates — dense (FAISS over section vectors), BM25
(jieba tokens) and the articles' known ``questions:`` phrasings (FAISS over
their vectors). Each arm ranks *articles*; the rankings are fused (RRF by
default), product hints boost or demote, and each article is shown once with
its best-matching section.
"""
from __future__ import annotations

import datetime as dt
import functools
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping

import faiss
import numpy as np

from . import fusion
from .embed import Embedder
from .pinyin import PREFIX as PINYIN_PREFIX, PinyinLexicon, has_han
from .records import Article, Chunk
from .snippet import make_snippet
from .store import Index
from .tokenize import normalize

ARMS = ("dense", "bm25", "questions")


class QueryError(ValueError):
    """The query cannot be answered as asked (bad filter, unknown arm, …)."""


@dataclass(frozen=True)
class Query:
    text: str
    top_k: int = 5
    category: str | None = None
    product: str | None = None
    include_expired: bool | None = None  # None: the config's default
    weights: Mapping[str, float] | None = None  # per-request fusion weights
    arms: tuple[str, ...] | None = None  # None: the config's arms


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
    scores: Mapping[str, float]  # component evidence: dense, bm25, questions
    products: tuple[str, ...]
    valid_until: str | None
    expired: bool
    other_sections: tuple[str, ...] = ()


@dataclass(frozen=True)
class SearchResult:
    suggestions: tuple[Suggestion, ...]
    confident: bool
    confidence: float  # the evidence score compared with the threshold
    index_version: str
    took_ms: float
    products_detected: tuple[str, ...] = field(default=())


class QueryEncoder:
    """Query embeddings behind an LRU cache: customers repeat the same short questions.

    Shared across index reloads, since the embedder (and so every vector) stays the same.
    """

    def __init__(self, embedder: Embedder, cache_size: int):
        self.embedder = embedder
        self.encode = functools.lru_cache(maxsize=max(cache_size, 0))(self._encode)

    def _encode(self, text: str) -> np.ndarray:
        vector = self.embedder.embed([text], "query")[0]
        vector.setflags(write=False)
        return vector


class Searcher:
    def __init__(self, index: Index, encoder: QueryEncoder, config,
                 today: Callable[[], dt.date] = dt.date.today):
        self.index = index
        self.encoder = encoder
        self.config = config
        self.today = today
        self.articles: dict[str, Article] = index.articles
        self._chunks_of: dict[str, list[int]] = {}
        for i, chunk in enumerate(index.chunks):
            self._chunks_of.setdefault(chunk.article_id, []).append(i)
        self._phrasings_of: dict[str, list[int]] = {}
        for i, phrasing in enumerate(index.phrasings):
            self._phrasings_of.setdefault(phrasing.article_id, []).append(i)
        self.lexicon = PinyinLexicon(
            (term, int(index.bm25.term_ptr[i + 1] - index.bm25.term_ptr[i]))
            for term, i in index.bm25.vocab.items() if not term.startswith(PINYIN_PREFIX))
        products = {p for a in self.articles.values() for p in a.products}
        self.categories = sorted({a.category for a in self.articles.values()})
        self.products = sorted(products)
        # Per-index lookups, computed once rather than on every query:
        self._normalized_products = [(p, normalize(p)) for p in sorted(products, key=len, reverse=True)]
        self._article_products = {a.id: [normalize(p) for p in a.products] for a in self.articles.values()}
        self._article_ids = list(self.articles)
        position = {article_id: i for i, article_id in enumerate(self._article_ids)}
        self._chunk_article = np.array([position[c.article_id] for c in index.chunks], dtype=np.int64)
        self._phrasing_article = np.array([position[p.article_id] for p in index.phrasings], dtype=np.int64)

    # ------------------------------------------------------------ public

    def search(self, query: Query) -> SearchResult:
        started = time.perf_counter()
        arms = self._arms(query)
        today = self.today()
        include_expired = self.config.include_expired if query.include_expired is None else query.include_expired
        eligible = self._eligible(query, include_expired, today)
        text = self.lexicon.rewrite(query.text)  # pinyin spellings/initials (fahuo, bzq) → KB words
        mentioned = self._products_in(query, text)
        terms = set(self.index.tokenizer.tokens(text))
        vector = self.encoder.encode(text) if {"dense", "questions"} & set(arms) else None

        bm25_all = self.index.bm25.scores(list(terms)) if "bm25" in arms else None
        rankings, evidence = self._candidates(arms, vector, bm25_all, eligible)
        fused = self._fuse(query, rankings, evidence)
        self._apply_product_hint(fused, mentioned)

        def order(article_id: str):
            fresh = self.articles[article_id].validity(today) == "valid"
            return (not fresh, -fused[article_id], article_id)

        ranked = sorted(fused, key=order)[: query.top_k]
        suggestions = tuple(self._suggest(a, fused[a], vector, bm25_all, terms, today) for a in ranked)
        confidence = self._confidence(suggestions, text)
        confident = bool(suggestions) and confidence >= self.config.confidence_threshold \
            and not suggestions[0].expired
        return SearchResult(suggestions, confident, confidence, self.index.version,
                            (time.perf_counter() - started) * 1000.0, tuple(mentioned))

    # ------------------------------------------------------------ stages

    def _arms(self, query: Query) -> tuple[str, ...]:
        arms = tuple(query.arms or self.config.arms)
        unknown = set(arms) - set(ARMS)
        if unknown or not arms:
            raise QueryError(f"unknown retrieval arm(s) {sorted(unknown)}; use {', '.join(ARMS)}")
        return arms

    def _eligible(self, query: Query, include_expired: bool, today: dt.date) -> set[str]:
        if query.category and query.category not in self.categories:
            raise QueryError(f"unknown category {query.category!r}")
        keep = set()
        for article in self.articles.values():
            if query.category and article.category != query.category:
                continue
            if query.product and article.products and query.product not in article.products:
                continue
            if not include_expired and article.validity(today) != "valid":
                continue
            keep.add(article.id)
        return keep

    def _products_in(self, query: Query, text: str) -> list[str]:
        """The product passed in, or else the KB products the question names (longest first)."""
        if query.product:
            return [query.product]
        text = normalize(text)
        found: list[tuple[str, str]] = []
        for product, norm in self._normalized_products:
            if norm in text and not any(norm in seen for _, seen in found):
                found.append((product, norm))
        return [product for product, _ in found]

    def _candidates(self, arms, vector, bm25_all, eligible):
        """Per arm: the article ranking, and each article's best raw score in that arm."""
        pool = self.config.candidates
        rankings: dict[str, list[str]] = {}
        evidence: dict[str, dict[str, float]] = {}
        article_ok = np.array([a in eligible for a in self._article_ids], dtype=bool)
        chunk_ok = article_ok[self._chunk_article]
        if "dense" in arms:
            hits = _faiss_search(self.index.chunk_faiss, vector, pool * 3, np.flatnonzero(chunk_ok))
            rankings["dense"], evidence["dense"] = self._by_article(
                ((self.index.chunks[i].article_id, s) for i, s in hits))
        if "bm25" in arms:
            scores = np.where(chunk_ok, bm25_all, 0.0)
            top = np.argsort(-scores, kind="stable")[: pool * 3]
            rankings["bm25"], evidence["bm25"] = self._by_article(
                (self.index.chunks[i].article_id, float(scores[i])) for i in top if scores[i] > 0)
        if "questions" in arms and self.index.phrasings:
            ok = np.flatnonzero(article_ok[self._phrasing_article])
            hits = _faiss_search(self.index.phrasing_faiss, vector, pool * 3, ok)
            rankings["questions"], evidence["questions"] = self._by_article(
                ((self.index.phrasings[i].article_id, s) for i, s in hits))
        for arm in rankings:
            rankings[arm] = rankings[arm][:pool]
        return rankings, evidence

    @staticmethod
    def _by_article(hits) -> tuple[list[str], dict[str, float]]:
        ranking: list[str] = []
        best: dict[str, float] = {}
        for article_id, score in hits:
            if article_id not in best:
                ranking.append(article_id)
                best[article_id] = float(score)
        return ranking, best

    def _fuse(self, query: Query, rankings, evidence) -> dict[str, float]:
        weights = {"dense": self.config.weight_dense, "bm25": self.config.weight_bm25,
                   "questions": self.config.weight_questions}
        if query.weights:
            unknown = set(query.weights) - set(ARMS)
            if unknown:
                raise QueryError(f"unknown weight(s) {sorted(unknown)}; use {', '.join(ARMS)}")
            weights.update(query.weights)
            return fusion.weighted(evidence, weights)
        if self.config.fusion == "weighted":
            return fusion.weighted(evidence, weights)
        return fusion.rrf(rankings, weights, self.config.rrf_k)

    def _apply_product_hint(self, fused: dict[str, float], mentioned: list[str]) -> None:
        """Sibling products' articles sink below the named product's; shop-wide rules stay put."""
        if not mentioned:
            return
        named = [normalize(m) for m in mentioned]
        demote = 1.0 / (1.0 + self.config.product_boost)
        for article_id in fused:
            products = self._article_products[article_id]
            if products and not any(m in p or p in m for m in named for p in products):
                fused[article_id] *= demote

    def _suggest(self, article_id, score, vector, bm25_all, terms, today) -> Suggestion:
        article = self.articles[article_id]
        chunk_ids = self._chunks_of.get(article_id, [])
        dense = (self.index.chunk_vectors[chunk_ids] @ vector) if vector is not None and chunk_ids \
            else np.zeros(len(chunk_ids), np.float32)
        lexical = bm25_all[chunk_ids] if bm25_all is not None and chunk_ids else np.zeros(len(chunk_ids))
        order = _rank_sections(dense, lexical)
        best = self.index.chunks[chunk_ids[order[0]]]
        phrasing_ids = self._phrasings_of.get(article_id, [])
        question = float((self.index.phrasing_vectors[phrasing_ids] @ vector).max()) \
            if vector is not None and phrasing_ids else 0.0
        snippet = make_snippet(best.text, terms, self.index.tokenizer, self.index.bm25.idf)
        others = []
        for i in order[1:]:
            heading = _heading(self.index.chunks[chunk_ids[i]])
            if heading != _heading(best) and heading not in others:
                others.append(heading)
        return Suggestion(
            article_id=article.id, title=article.title, category=article.category, section=_heading(best),
            anchor=best.anchor, snippet=snippet.text, highlights=snippet.highlights,
            answer=self._section_text(article, best), reply_template=article.reply_template,
            source=f"{article.path}#{best.anchor}", score=round(float(score), 6),
            scores={"dense": round(float(dense[order[0]]), 4) if len(dense) else 0.0,
                    "bm25": round(float(lexical[order[0]]), 4) if len(lexical) else 0.0,
                    "questions": round(question, 4)},
            products=article.products,
            valid_until=article.valid_until.isoformat() if article.valid_until else None,
            expired=article.validity(today) != "valid", other_sections=tuple(others[:2]),
        )

    @staticmethod
    def _section_text(article: Article, chunk: Chunk) -> str:
        for section in article.sections:
            if section.anchor == chunk.anchor:
                return section.text
        return chunk.text

    def _confidence(self, suggestions: tuple[Suggestion, ...], text: str) -> float:
        """Evidence that the top article answers the question: the mean of its best cosine to a
        section and to a known phrasing (when it has phrasings), plus an offset for questions
        in another script than the KB's. See README, Confidence, for the calibration."""
        if not suggestions:
            return 0.0
        top = suggestions[0]
        signals = [top.scores["dense"]]
        if self._phrasings_of.get(top.article_id):
            signals.append(top.scores["questions"])
        evidence = sum(signals) / len(signals)
        if not has_han(text):
            evidence += self.config.cross_lingual_offset
        return round(evidence, 4)


def _faiss_search(index, vector, k: int, allowed: np.ndarray) -> list[tuple[int, float]]:
    """Top-k (id, score) among ``allowed`` ids, using FAISS's id selector for the filter."""
    if vector is None or index.ntotal == 0 or len(allowed) == 0:
        return []
    params = None
    if len(allowed) < index.ntotal:
        params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed.astype(np.int64)))
    scores, ids = index.search(np.asarray(vector, dtype=np.float32)[None, :], min(k, len(allowed)), params=params)
    return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]


SECTION_RRF_K = 60  # within one article the few sections are all relevant-ish: a flat RRF weighs both arms evenly


def _rank_sections(dense: np.ndarray, lexical: np.ndarray) -> list[int]:
    """Sections of one article, best first: RRF of their dense and BM25 ranks."""
    n = len(dense)
    fused = np.zeros(n)
    for scores in (dense, lexical):
        ranks = np.empty(n)
        ranks[np.argsort(-np.asarray(scores), kind="stable")] = np.arange(1, n + 1)
        fused += 1.0 / (SECTION_RRF_K + ranks)
    return list(np.argsort(-fused, kind="stable"))


def _heading(chunk: Chunk) -> str:
    return " › ".join(chunk.heading_path)
