"""Query embeddings behind an LRU cache: customers repeat the same short questions."""
from __future__ import annotations

import functools

import numpy as np

from indexer.embed import Embedder


class QueryEncoder:
    """Shared across index reloads, since the embedder (and so every vector) stays the same."""

    def __init__(self, embedder: Embedder, cache_size: int):
        self.embedder = embedder
        self.encode = functools.lru_cache(maxsize=max(cache_size, 0))(self._encode)

    def _encode(self, text: str) -> np.ndarray:
        vector = self.embedder.embed([text], "query")[0]
        vector.setflags(write=False)
        return vector
