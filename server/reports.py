"""The weekly report behind ``GET /v1/report``: built off the request threads, one at a time.

Embedding a week's questions can take seconds, so a request never builds a report itself: it asks
for one, waits at most ``WAIT_S`` and, if the report is not ready, answers 202 with Retry-After; the
admin page asks again. One worker thread builds the reports, each period once however many requests
ask; a finished report is served for ``FRESH_S`` (new questions keep arriving), then built again
(quickly: the question vectors are cached). At most ``MAX_WAITING`` periods wait their turn; past
that, 503 ``report_busy``. The report's embedder is its own instance on one thread, so the searches'
embedder never queues behind a report.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor, TimeoutError as FutureTimeout
from pathlib import Path
from typing import Callable

from core.config import Config
from report import Articles, Period, QuestionVectors, csv_files, make_report, render_fragment, render_markdown
from report.sources import Sources
from storage.stores import Stores

from .errors import ApiError

WAIT_S = 2.0
FRESH_S = 60.0
MAX_WAITING = 4
KEEP = 8  # finished reports kept for polling clients


class ReportJobs:
    def __init__(self, config: Config, holder, today: Callable, stores: Stores):
        self.config, self.holder, self.today = config, holder, today
        self.sources = Sources(stores.feedback, stores.query_log)  # the server's own: no pool per report
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="report")
        self._lock = threading.Lock()
        self._running: dict[tuple, Future] = {}
        self._done: OrderedDict[tuple, tuple[float, dict]] = OrderedDict()
        self._vectors: QuestionVectors | None = None  # made by the worker on first use

    def get(self, period: Period) -> tuple[int, dict]:
        """(200, the report) or (202, {"status": "running"}); a failed build raises its error (a logged 500)."""
        searcher = self.holder.searcher
        if searcher is None:
            raise ApiError(503, "index_unavailable", self.holder.error or "no index is loaded yet")
        key = (period.since, period.until, self.today(), searcher.index.version)
        with self._lock:
            self._collect()
            done = self._done.get(key)
            if done and time.monotonic() - done[0] < FRESH_S:
                return 200, done[1]
            future = self._running.get(key)
            if future is None:
                if len(self._running) >= MAX_WAITING:
                    raise ApiError(503, "report_busy", "other reports are being built; retry shortly",
                                   {"Retry-After": "5"})
                future = self._worker.submit(self._build, period, key[2], searcher)
                self._running[key] = future
        try:
            future.result(timeout=WAIT_S)
        except FutureTimeout:
            return 202, {"status": "running"}
        except Exception:  # noqa: BLE001 - collected below, raised again by result()
            pass
        with self._lock:
            self._collect()
        return 200, future.result()

    def _collect(self) -> None:
        """Finished builds move to the served reports (failed ones are dropped), so that a client
        who stopped polling does not hold a place; the oldest reports go past ``KEEP``."""
        for key, future in list(self._running.items()):
            if future.done():
                del self._running[key]
                if future.exception() is None:
                    self._done[key] = (time.monotonic(), future.result())
                    self._done.move_to_end(key)
        while len(self._done) > KEEP:
            self._done.popitem(last=False)

    def _build(self, period: Period, as_of, searcher) -> dict:
        if self._vectors is None:
            from indexer.embed import create_embedder

            self._vectors = QuestionVectors(create_embedder(self.config, threads=1),
                                            Path(self.config.index_dir) / "cache", self.config.embed_batch_size)
        index = searcher.index
        report = make_report(self.config, period, Articles(index.articles, f"index {index.version}"),
                             self._vectors, as_of, self.sources)
        s = report.service
        return {"status": "done", "period": {"since": period.since.isoformat(), "until": period.until.isoformat()},
                "generated_at": report.generated_at, "empty": report.empty,
                "summary": {"questions": s.questions, "confident_share": s.confident_share,
                            "adoption_rate": s.adoption_rate, "feedback": s.feedback},
                "html": render_fragment(report), "markdown": render_markdown(report), "csv": csv_files(report)}
