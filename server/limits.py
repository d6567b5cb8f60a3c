"""A per-client token bucket: no single address can take the service for itself.

The tokens are request-body bytes: a long question or a big batch costs more than a short
one, in line with the embedding work it asks for, and the cost is known from
Content-Length before anything is parsed. A request costs at least ``MIN_COST`` so a
flood of tiny requests is bounded too.
"""
from __future__ import annotations

import threading
import time
from typing import Callable

MIN_COST = 1024
MAX_CLIENTS = 10_000  # buckets kept; past it, the ones that have refilled are forgotten


class RateLimiter:
    def __init__(self, bytes_per_s: float, burst_bytes: float, clock: Callable[[], float] = time.monotonic):
        self.rate, self.burst, self.clock = bytes_per_s, max(burst_bytes, MIN_COST), clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client → (tokens, when)
        self._lock = threading.Lock()

    def take(self, client: str, cost: float) -> float:
        """Spend ``cost`` of ``client``'s tokens: 0 when allowed, else the seconds until it would be."""
        cost = min(max(cost, MIN_COST), self.burst)
        now = self.clock()
        with self._lock:
            tokens, then = self._buckets.get(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - then) * self.rate)
            allowed = tokens >= cost
            self._buckets[client] = (tokens - cost if allowed else tokens, now)
            if len(self._buckets) > MAX_CLIENTS:
                self._forget_full(now)
        return 0.0 if allowed else (cost - tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        for client, (tokens, then) in list(self._buckets.items()):
            if tokens + (now - then) * self.rate >= self.burst:
                del self._buckets[client]
