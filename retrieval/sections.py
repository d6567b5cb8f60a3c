"""An article's answer to the question: its best section, the snippet in it, and the Suggestion card."""
from __future__ import annotations

import datetime as dt

import numpy as np

from core.arms import BM25, DENSE, QUESTIONS
from indexer.records import Article, Chunk
from indexer.store import Index

from . import ended
from .catalog import Catalog
from .fusion import rrf
from .snippet import make_snippet
from .types import Suggestion

SECTION_RRF_K = 60  # within one article the few sections are all relevant-ish: a flat RRF weighs both arms evenly
OTHER_SECTIONS = 2


def rank_sections(dense: np.ndarray, lexical: np.ndarray) -> list[int]:
    """Sections of one article, best first: RRF of their dense and BM25 ranks (ties: document order)."""
    by_arm = {arm: [int(i) for i in np.argsort(-np.asarray(scores), kind="stable")]
              for arm, scores in ((DENSE, dense), (BM25, lexical))}
    fused = rrf(by_arm, {}, SECTION_RRF_K)
    return sorted(range(len(dense)), key=lambda i: (-fused.get(i, 0.0), i))


def heading(chunk: Chunk) -> str:
    return " › ".join(chunk.heading_path)


def suggest(index: Index, catalog: Catalog, article_id: str, score: float, vector: np.ndarray | None,
            bm25_all: np.ndarray | None, terms: set[str], today: dt.date) -> Suggestion:
    article = catalog.articles[article_id]
    rows = list(catalog.chunks_of.get(article_id, ()))
    dense = (index.chunk_vectors[rows] @ vector) if vector is not None and rows else np.zeros(len(rows), np.float32)
    lexical = bm25_all[rows] if bm25_all is not None and rows else np.zeros(len(rows))
    order = rank_sections(dense, lexical)
    best = index.chunks[rows[order[0]]]
    phrasing_rows = list(catalog.phrasings_of.get(article_id, ()))
    question = float((index.phrasing_vectors[phrasing_rows] @ vector).max()) \
        if vector is not None and phrasing_rows else 0.0
    snippet = make_snippet(best.text, terms, index.tokenizer, index.bm25.idf)
    others: list[str] = []
    for i in order[1:]:
        other = heading(index.chunks[rows[i]])
        if other != heading(best) and other not in others:
            others.append(other)
    return Suggestion(
        article_id=article.id, title=article.title, category=article.category, section=heading(best),
        anchor=best.anchor, snippet=snippet.text, highlights=snippet.highlights,
        answer=_section_text(article, best), reply_template=article.reply_template,
        source=f"{article.path}#{best.anchor}", score=float(score),  # exact: decisions use them; shown rounded
        scores={DENSE: float(dense[order[0]]) if len(dense) else 0.0,
                BM25: float(lexical[order[0]]) if len(lexical) else 0.0,
                QUESTIONS: question},
        products=article.products,
        valid_until=article.valid_until.isoformat() if article.valid_until else None,
        expired=article.validity(today) != "valid", other_sections=tuple(others[:OTHER_SECTIONS]),
        notice=ended.notice(article) if article.validity(today) == "expired" else None,
    )


def _section_text(article: Article, chunk: Chunk) -> str:
    for section in article.sections:
        if section.anchor == chunk.anchor:
            return section.text
    return chunk.text
