"""Per-index lookups that every query needs, computed once when an index is loaded."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from indexer.learned import wording_key
from indexer.records import Article
from indexer.store import Index
from indexer.tokenize import normalize


_NO_END = np.iinfo(np.int64).max


@dataclass(frozen=True)
class Catalog:
    """Which chunks and phrasings belong to which article, and the products the KB names."""

    articles: dict[str, Article]
    article_ids: tuple[str, ...]  # row order of the masks below
    position: dict[str, int]  # article id → its row
    chunks_of: dict[str, tuple[int, ...]]
    phrasings_of: dict[str, tuple[int, ...]]
    chunk_article: np.ndarray  # chunk row → article position
    phrasing_article: np.ndarray  # phrasing row → article position
    categories: tuple[str, ...]
    products: tuple[str, ...]
    normalized_products: tuple[tuple[str, str], ...]  # (name, normalized), longest first
    article_products: dict[str, tuple[str, ...]]  # article id → its normalized product names
    category_rows: dict[str, np.ndarray]  # category → boolean mask over article rows
    valid_from: np.ndarray  # per row, as date ordinals (0: no start)
    valid_until: np.ndarray  # per row, as date ordinals (max int: no end)
    known_wordings: dict[str, str]  # wording key of a phrasing → its article, where one article alone has it

    @classmethod
    def of_index(cls, index: Index) -> "Catalog":
        articles = index.articles
        chunks_of: dict[str, list[int]] = {}
        for i, chunk in enumerate(index.chunks):
            chunks_of.setdefault(chunk.article_id, []).append(i)
        phrasings_of: dict[str, list[int]] = {}
        for i, phrasing in enumerate(index.phrasings):
            phrasings_of.setdefault(phrasing.article_id, []).append(i)
        article_ids = tuple(articles)
        position = {article_id: i for i, article_id in enumerate(article_ids)}
        products = {p for a in articles.values() for p in a.products}
        owners: dict[str, set[str]] = {}
        for phrasing in index.phrasings:
            owners.setdefault(wording_key(phrasing.text), set()).add(phrasing.article_id)
        known = {key: next(iter(ids)) for key, ids in owners.items() if key and len(ids) == 1}
        return cls(
            articles=articles, article_ids=article_ids, position=position,
            chunks_of={a: tuple(rows) for a, rows in chunks_of.items()},
            phrasings_of={a: tuple(rows) for a, rows in phrasings_of.items()},
            chunk_article=np.array([position[c.article_id] for c in index.chunks], dtype=np.int64),
            phrasing_article=np.array([position[p.article_id] for p in index.phrasings], dtype=np.int64),
            categories=tuple(sorted({a.category for a in articles.values()})),
            products=tuple(sorted(products)),
            normalized_products=tuple((p, normalize(p)) for p in sorted(products, key=len, reverse=True)),
            article_products={a.id: tuple(normalize(p) for p in a.products) for a in articles.values()},
            category_rows={c: np.array([articles[a].category == c for a in article_ids], dtype=bool)
                           for c in {a.category for a in articles.values()}},
            valid_from=np.array([articles[a].valid_from.toordinal() if articles[a].valid_from else 0
                                 for a in article_ids], dtype=np.int64),
            valid_until=np.array([articles[a].valid_until.toordinal() if articles[a].valid_until else _NO_END
                                  for a in article_ids], dtype=np.int64),
            known_wordings=known,
        )
