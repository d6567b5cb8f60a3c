"""Holds the searcher being served and swaps in newly published indexes (hot reload).

A request takes ``holder.assistant`` (the loaded index's Searcher with its triage) once and keeps
that object, so a swap never disturbs a request in flight. A new version that fails to load for *any* reason
(damaged files, another embedder or format, a manifest or record that makes the
searcher fail) is refused: one log line, the old one keeps serving, ``status()``
says why, and that version is not tried again. At start-up, when ``CURRENT`` names
a version that cannot be served, the newest good version under ``versions/`` is
served instead, and ``status()`` says so; so it is when ``CURRENT`` is missing or empty while good
versions exist, or names a path outside ``versions/`` (refused, never followed).
"""
from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import time
from pathlib import Path
from typing import Callable

from assist import Assistant
from core.config import Config
from retrieval import Query, QueryEncoder, Searcher
from indexer.store import IndexLoadError, current_version, load_index

log = logging.getLogger(__name__)

_NONE = object()  # no fallback served
_PATH = re.compile(r"(?<![\w.~-])/(?:[^\s/'\":(),]+/)*([^\s/'\":(),]*)")


def without_paths(message: str) -> str:
    """A reason fit for clients: each absolute path (of this machine, or of the machine that
    built FAISS) shortened to its last part, e.g. '/srv/kb/index/versions/v7: …' → 'v7: …'."""
    return _PATH.sub(lambda m: m.group(1) or "/", message)


class IndexHolder:
    def __init__(self, root: Path, encoder: QueryEncoder, config: Config,
                 today: Callable[[], dt.date] = dt.date.today, searcher: Searcher | None = None):
        self.root = Path(root)
        self.encoder = encoder
        self.config = config
        self.today = today
        self.assistant = Assistant(searcher, config) if searcher is not None else None
        self.error: str | None = None  # why the version CURRENT names is not served (no paths)
        self.reload_failures = 0  # versions refused (each refusal once, not each check of it): /metrics
        self.loaded_at: float | None = time.time() if searcher else None
        self._refused: str | None = None  # a version that failed to load: not tried again
        self._pinned = searcher is not None and not (self.root / "CURRENT").exists()
        self._fallback_pointer: str | None | object = _NONE  # CURRENT's text when a fallback was served for it
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def reload(self) -> bool:
        """Load the published version if it is not the one served; True when swapped."""
        with self._lock:
            wanted = None
            pointer = self._pointer()
            if self.searcher is not None and self._fallback_pointer is not _NONE and pointer == self._fallback_pointer:
                return False  # CURRENT is as bad as when the fallback was chosen: nothing new to try or say
            try:
                wanted = current_version(self.root)  # IndexLoadError: CURRENT names a path outside versions/
                if wanted is None and not (self.root / "manifest.json").exists():
                    raise IndexLoadError(self._no_version_reason(pointer))
                if self.searcher is not None and wanted in (None, self.searcher.index.version):
                    self.error = self._refused = None  # the current version is the one served
                    self._fallback_pointer = _NONE
                    return False
                if wanted is not None and wanted == self._refused:
                    return False
                assistant = self._load(self.root)
            except Exception as exc:  # noqa: BLE001 - whatever breaks a new version, the old one serves on
                self._refuse(wanted, exc)
                if self.searcher is None:
                    return self._fall_back(wanted, pointer)
                return False
            self._fallback_pointer = _NONE
            self._serve(assistant, None)
            return True

    def _pointer(self) -> str | None:
        """CURRENT's raw text (None: missing), to tell whether it changed since it was last judged."""
        try:
            return (self.root / "CURRENT").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None

    def _no_version_reason(self, pointer: str | None) -> str:
        versions = self.root / "versions"
        if versions.is_dir() and any(p.is_dir() for p in versions.iterdir()):
            return "CURRENT is missing" if pointer is None else "CURRENT is empty"
        return f"no published index in {self.root} (build one: python -m indexer build --out {self.root})"

    def _load(self, path: Path) -> Assistant:
        """The version's Searcher and its triage, built and warmed up here rather than by a request."""
        index = load_index(path, self.encoder.embedder.id, self.encoder.embedder.dim,
                           dictionary=self.config.dictionary_folder(self.root))
        assistant = Assistant(Searcher(index, self.encoder, self.config, today=self.today), self.config)
        assistant.answer(Query("发货时间", top_k=1))  # warm up tokenizer and caches, and prove it answers
        return assistant

    def _serve(self, assistant: Assistant, error: str | None) -> None:
        self.assistant, self.error, self.loaded_at = assistant, error, time.time()
        log.info("serving index %s", assistant.searcher.index.version)

    @property
    def searcher(self) -> Searcher | None:
        assistant = self.assistant
        return assistant.searcher if assistant is not None else None

    def _refuse(self, wanted: str | None, exc: Exception) -> None:
        reason = str(exc) if isinstance(exc, IndexLoadError) else \
            f"version {wanted} cannot be served: {type(exc).__name__}: {exc}"
        if without_paths(reason) != self.error:
            self.reload_failures += 1
            log.error("index not loaded, still serving %s: %s", self.version or "nothing", reason)
        self.error, self._refused = without_paths(reason), wanted

    def _fall_back(self, refused: str | None, pointer: str | None) -> bool:
        """Nothing served yet and CURRENT's version is refused (or CURRENT names none): serve the newest good one."""
        reason = self.error
        versions = self.root / "versions"
        names = sorted((p.name for p in versions.iterdir() if p.is_dir()), reverse=True) if versions.is_dir() else []
        for name in names:
            if name == refused:
                continue
            try:
                assistant = self._load(versions / name)
            except Exception as exc:  # noqa: BLE001 - try the next older one
                log.error("fallback version %s not loaded either: %s", name, exc)
                continue
            why = f"CURRENT names {refused}, which was refused ({reason})" if refused is not None else reason
            message = f"{why}; serving {name}, the newest good version"
            log.warning("%s", message)
            self._serve(assistant, message)
            self._fallback_pointer = pointer
            return True
        return False

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
            except Exception as exc:  # noqa: BLE001 - the watcher must outlive anything
                log.error("reload check failed: %s: %s", type(exc).__name__, exc)

    def stop(self) -> None:
        self._stop.set()
