"""Holds the searcher being served and swaps in newly published indexes (hot reload).

A request takes ``holder.searcher`` once and keeps that object, so a swap never
disturbs a request in flight. A new index that fails to load (damaged files,
another embedder or format) is refused: the old one keeps serving and
``status()`` says why.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from pathlib import Path
from typing import Callable

from retrieval import Query, QueryEncoder, Searcher
from core.config import Config
from indexer.store import IndexLoadError, current_version, load_index

log = logging.getLogger(__name__)


class IndexHolder:
    def __init__(self, root: Path, encoder: QueryEncoder, config: Config,
                 today: Callable[[], dt.date] = dt.date.today, searcher: Searcher | None = None):
        self.root = Path(root)
        self.encoder = encoder
        self.config = config
        self.today = today
        self.searcher = searcher
        self.error: str | None = None
        self.loaded_at: float | None = time.time() if searcher else None
        self._pinned = searcher is not None and not (self.root / "CURRENT").exists()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def reload(self) -> bool:
        """Load the published version if it is not the one served; True when swapped."""
        with self._lock:
            try:
                wanted = current_version(self.root)
                if wanted is None and not (self.root / "manifest.json").exists():
                    raise IndexLoadError(f"no published index in {self.root} "
                                         f"(build one: python -m indexer build --out {self.root})")
                if self.searcher is not None and wanted in (None, self.searcher.index.version):
                    return False
                index = load_index(self.root, self.encoder.embedder.id, self.encoder.embedder.dim)
                searcher = Searcher(index, self.encoder, self.config, today=self.today)
                searcher.search(Query("发货时间", top_k=1))  # warm up tokenizer and caches before serving
            except IndexLoadError as exc:
                if self.error != str(exc):
                    log.error("index not loaded, still serving %s: %s", self.version or "nothing", exc)
                self.error = str(exc)
                return False
            self.searcher, self.error, self.loaded_at = searcher, None, time.time()
            log.info("serving index %s", searcher.index.version)
            return True

    @property
    def version(self) -> str | None:
        return self.searcher.index.version if self.searcher else None

    def status(self) -> dict:
        searcher = self.searcher
        status = {"ready": searcher is not None, "index_version": self.version, "reload_error": self.error}
        if searcher is not None:
            manifest = searcher.index.manifest
            status.update(counts=manifest["counts"], embedder=manifest["embedder"],
                          built_at=manifest.get("built_at"),
                          loaded_at=dt.datetime.fromtimestamp(self.loaded_at, dt.timezone.utc)
                          .isoformat(timespec="seconds"))
        return status

    def start_watching(self, interval: float) -> None:
        if interval <= 0 or self._pinned or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._watch, args=(interval,), name="index-reload", daemon=True)
        self._thread.start()

    def _watch(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.reload()
            except Exception:  # noqa: BLE001 - the watcher must outlive any one bad index
                log.exception("reload check failed")

    def stop(self) -> None:
        self._stop.set()
