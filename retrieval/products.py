"""Product hints: the products a question names, and the demotion of other products' articles."""
from __future__ import annotations

from typing import Sequence

from indexer.tokenize import normalize

from .catalog import Catalog


def products_in(catalog: Catalog, text: str, passed: str | None) -> list[str]:
    """The product passed in, or else the KB products the question names (longest first, no
    name that is part of a longer one already found)."""
    if passed:
        return [passed]
    text = normalize(text)
    found: list[tuple[str, str]] = []
    for product, norm in catalog.normalized_products:
        if norm in text and not any(norm in seen for _, seen in found):
            found.append((product, norm))
    return [product for product, _ in found]


def demote_other_products(catalog: Catalog, fused: dict[str, float], mentioned: Sequence[str],
                          demotion: float) -> set[str]:
    """Sibling products' articles sink below the named product's; shop-wide rules stay put.
    Returns the demoted articles."""
    if not mentioned:
        return set()
    named = [normalize(m) for m in mentioned]
    factor = 1.0 / (1.0 + demotion)
    demoted = set()
    for article_id in fused:
        products = catalog.article_products[article_id]
        if products and not any(m in p or p in m for m in named for p in products):
            fused[article_id] *= factor
            demoted.add(article_id)
    return demoted
