"""The answers a server has given, by request id, so that feedback can be tied to what was shown.

A vote counts only when it names a ``request_id`` that ``/v1/suggest`` returned and an article that
answer suggested: 1,660 ``down`` votes for an article nobody was shown steered the report before.
Recent answers are kept in memory (``served_memory``, ``feedback_window_hours``); an answer this
process does not remember (another replica's, one from before a restart) is looked up in the query
log, which stores each answer's request id.
"""
from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from typing import Callable

from storage.querylog import QueryLog, Served


def new_request_id() -> str:
    """128 random bits, URL-safe: not guessable, so a vote cannot name someone else's answer by chance."""
    return secrets.token_urlsafe(16)


class ServedAnswers:
    def __init__(self, capacity: int, window_s: float, query_log: QueryLog | None = None,
                 clock: Callable[[], float] = time.time):
        self.capacity, self.window_s, self.query_log, self.clock = max(1, capacity), window_s, query_log, clock
        self._recent: OrderedDict[str, Served] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, question: str, article_ids: tuple[str, ...], index_version: str) -> str:
        """A new request id for this answer."""
        served = Served(new_request_id(), question, article_ids, index_version, self.clock())
        with self._lock:
            self._recent[served.request_id] = served
            while len(self._recent) > self.capacity:
                self._recent.popitem(last=False)
        return served.request_id

    def find(self, request_id: str) -> Served | None:
        """The answer with this id, if it was served within the window."""
        with self._lock:
            served = self._recent.get(request_id)
        if served is None and self.query_log is not None:
            served = self.query_log.served(request_id)
        if served is None or self.clock() - served.at > self.window_s:
            return None
        return served
