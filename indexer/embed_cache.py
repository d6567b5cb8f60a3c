"""Embeddings kept by (embedder id, mode, content hash), so unchanged text is never embedded again.

The cache is saved while a build embeds (every ``CHECKPOINT_SECONDS``), each time by
writing a temporary file and renaming it over the old one: a build killed at any
moment (even ``kill -9``) leaves a whole cache holding what it had embedded by
its last checkpoint, and the next build embeds only the rest.
"""
from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .embed import Embedder
from .store import written

CHECKPOINT_SECONDS = 2.0  # a save costs milliseconds; embedding 2 s of text costs 2 s to redo


class EmbeddingCache:
    """One ``.npz`` (plain arrays, no pickle) per embedder under ``<index root>/cache/``."""

    def __init__(self, root: Path, embedder_id: str, dim: int, load_existing: bool = True, prefix: str = ""):
        """``prefix`` names another file for the same embedder (the weekly report's questions)."""
        self.path = Path(root) / (prefix + re.sub(r"[^A-Za-z0-9._-]+", "_", embedder_id) + ".npz")
        self.dim = dim
        self._vectors: dict[str, np.ndarray] = {}
        if load_existing and self.path.exists():
            try:
                with np.load(self.path, allow_pickle=False) as data:
                    keys, vectors = data["keys"], data["vectors"]
                if vectors.ndim == 2 and vectors.shape[1] == dim:
                    self._vectors = dict(zip(keys.tolist(), vectors))
            except (OSError, ValueError, KeyError):
                self._vectors = {}  # a damaged cache only costs re-embedding

    def __len__(self) -> int:
        return len(self._vectors)

    def save(self, keep: set[str] | None = None) -> None:
        """Atomically rewrite the cache, keeping only ``keep`` keys when given."""
        items = [(k, v) for k, v in self._vectors.items() if keep is None or k in keep]
        keys = np.array([k for k, _ in items], dtype="U80")
        vectors = np.stack([v for _, v in items]) if items else np.zeros((0, self.dim), np.float32)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp.npz")

        def write(target: Path) -> None:
            with open(target, "wb") as handle:
                np.savez(handle, keys=keys, vectors=vectors.astype(np.float32))
                handle.flush()
                os.fsync(handle.fileno())

        written(tmp, write)
        os.replace(tmp, self.path)

    def embed(self, embedder: Embedder, texts: Sequence[str], hashes: Sequence[str], mode: str,
              batch_size: int, progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, int]:
        """Vectors for ``texts`` in order, embedding only cache misses. Returns (vectors, newly embedded)."""
        keys = [f"{mode}:{h}" for h in hashes]
        missing: dict[str, str] = {}
        for key, text in zip(keys, texts):
            if key not in self._vectors:
                missing.setdefault(key, text)
        pending = list(missing.items())
        saved_at = time.monotonic()
        for start in range(0, len(pending), batch_size):
            batch = pending[start:start + batch_size]
            vectors = embedder.embed([text for _, text in batch], mode)
            for (key, _), vector in zip(batch, vectors):
                self._vectors[key] = vector
            if progress:
                progress(len(batch))
            if time.monotonic() - saved_at >= CHECKPOINT_SECONDS:
                self.save()  # a checkpoint: an interrupted build keeps what it embedded
                saved_at = time.monotonic()
        out = np.stack([self._vectors[k] for k in keys]) if keys else np.zeros((0, self.dim), np.float32)
        return out.astype(np.float32), len(pending)

    def missing(self, hashes: Sequence[str], mode: str) -> set[str]:
        return {key for key in (f"{mode}:{h}" for h in hashes) if key not in self._vectors}

    def count_missing(self, hashes: Sequence[str], mode: str) -> int:
        return len(self.missing(hashes, mode))
