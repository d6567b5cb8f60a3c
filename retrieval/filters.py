"""Which articles a query may return: its category and product filters, and validity on the day."""
from __future__ import annotations

import datetime as dt

import numpy as np

from .catalog import Catalog
from .types import Query, QueryError


def valid_on(catalog: Catalog, today: dt.date) -> np.ndarray:
    """Rows whose validity range holds ``today`` (vectorised: a KB may hold thousands of articles)."""
    day = today.toordinal()
    return (catalog.valid_from <= day) & (day <= catalog.valid_until)


def eligible(catalog: Catalog, query: Query, include_expired: bool, today: dt.date) -> np.ndarray:
    """A boolean mask over ``catalog.article_ids``."""
    if query.category and query.category not in catalog.categories:
        raise QueryError(f"unknown category {query.category!r}")
    keep = np.ones(len(catalog.article_ids), dtype=bool)
    if query.category:
        keep &= catalog.category_rows[query.category]
    for hidden in query.hidden_categories:
        keep &= ~catalog.category_rows.get(hidden, np.zeros_like(keep))
    if query.product:
        keep &= np.array([not catalog.articles[a].products or query.product in catalog.articles[a].products
                          for a in catalog.article_ids], dtype=bool)
    if not include_expired:
        keep &= valid_on(catalog, today)
    return keep
