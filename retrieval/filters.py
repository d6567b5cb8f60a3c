"""Which articles a query may return: its category and product filters, and validity on the day."""
from __future__ import annotations

import datetime as dt

import numpy as np

from .catalog import Catalog
from .types import Query, QueryError


def eligible(catalog: Catalog, query: Query, include_expired: bool, today: dt.date) -> np.ndarray:
    """A boolean mask over ``catalog.article_ids``."""
    if query.category and query.category not in catalog.categories:
        raise QueryError(f"unknown category {query.category!r}")
    keep = np.zeros(len(catalog.article_ids), dtype=bool)
    for row, article_id in enumerate(catalog.article_ids):
        article = catalog.articles[article_id]
        keep[row] = not (
            (query.category and article.category != query.category)
            or (query.product and article.products and query.product not in article.products)
            or (not include_expired and article.validity(today) != "valid"))
    return keep
