"""The rebuild job: parse → chunk → embed (reusing cached vectors) → write → publish.

Only one build runs per index root at a time (a lock file), and nothing is
visible to readers until the final rename, so a crash at any point leaves the
previously published index in place.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import functools
import platform
import shutil
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from core import sources
from core.config import Config

from . import __version__
from .bm25 import BM25
from .chunk import chunk_kb, chunking_params
from .embed import Embedder
from .embed_cache import EmbeddingCache
from .parse import ParsedKB, parse_kb
from .progress import Progress
from .records import Diagnostic, sha256_text
from .store import (Index, IndexLoadError, sha256_file, add_models, load_index, new_temp_dir, publish, read_manifest,
                    resolve, sweep_temp_dirs, write_index, written)
from .token_cache import TokenCache, tokenizer_key
from .tokenize import tokenize_texts, user_words_from


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """Hash of the source of this module and everything it imports (parse, chunk, tokenize, BM25, the index format,
    the settings) and of the package's data files, recorded in the manifest: an index built by other code may hold
    other tokens. Derived from the import graph (``core.sources``), so a new module cannot be left out."""
    return sources.fingerprint((__name__,))


def is_current(manifest: dict, parsed: ParsedKB, embedder: Embedder, config: Config,
               trainers: Mapping[str, Trainer] | None = None) -> bool:
    """Whether an index with this manifest was built from this very KB, embedder, chunking and
    indexing code: the fields build() writes below, compared in the same module that writes them."""
    return (manifest["kb"]["content_hash"] == parsed.content_hash and manifest["embedder"]["id"] == embedder.id
            and manifest["chunking"] == chunking_params(config.chunk_max_chars, config.learned_min_support)
            and manifest["build"].get("code_fingerprint") == code_fingerprint()
            and manifest["build"].get("trainers") == {name: getattr(t, "fingerprint", None)
                                                      for name, t in (trainers or {}).items()})


class KBError(RuntimeError):
    """The KB has errors; the build is refused and the published index left untouched."""

    def __init__(self, diagnostics: tuple[Diagnostic, ...]):
        self.diagnostics = diagnostics
        errors = [d for d in diagnostics if d.severity == "error"]
        super().__init__(f"the KB has {len(errors)} error(s); nothing was published")


class BuildLockedError(RuntimeError):
    """Another build holds the lock on this index root."""


@dataclass(frozen=True)
class BuildReport:
    version: str
    path: Path
    articles: int
    chunks: int
    phrasings: int
    embedded: int
    reused: int
    seconds: float
    warnings: tuple[Diagnostic, ...] = field(default=())
    training_seconds: float = 0.0  # part of ``seconds`` spent training models (printed apart)
    models: Mapping[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        fresh = [name for name, entry in self.models.items() if "reused_from" not in entry]
        reused = [name for name, entry in self.models.items() if "reused_from" in entry]
        trained = f" (of which {self.training_seconds:.1f}s training {', '.join(fresh)})" if fresh else ""
        trained += f"; reused {', '.join(reused)} from {self.models[reused[0]]['reused_from']}" if reused else ""
        return (f"published {self.version}: {self.articles} articles, {self.chunks} chunks, "
                f"{self.phrasings} phrasings; embedded {self.embedded}, reused {self.reused}; "
                f"{self.seconds:.1f}s{trained}")


# A trainer fits a model on the freshly written index, writes its files into the directory and
# returns its manifest entry ({"files": [...], ...}); an optional ``fingerprint`` attribute (its code and
# settings) tells whether an index's model is current; an optional ``data_hash(parsed)`` names what else it learns
# from (not the articles: the triage examples), so it is reused only while that is unchanged. The build job knows
# no model: the caller
# (CLI, eval harness) passes the trainers, so the build side never imports query-time code.
Trainer = Callable[[Index, Path], dict]


@contextmanager
def build_lock(root: Path) -> Iterator[None]:
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".build.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BuildLockedError(f"another build is running on {root}") from None
        yield


def git_commit(path: Path, mark_dirty: bool = False) -> str | None:
    """HEAD of the git work tree holding ``path``; with ``mark_dirty``, '+dirty' when tracked files changed."""
    where = str(path if path.is_dir() else path.parent)
    try:
        out = subprocess.run(["git", "-C", where, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        if out.returncode != 0:
            return None
        commit = out.stdout.strip()
        if mark_dirty:
            status = subprocess.run(["git", "-C", where, "status", "--porcelain", "--untracked-files=no"],
                                    capture_output=True, text=True, timeout=5)
            commit += "+dirty" if status.stdout.strip() else ""
        return commit
    except (OSError, subprocess.SubprocessError):
        return None


def _previous_manifest(root: Path) -> dict | None:
    """The published version's manifest, or None (first build, or unreadable: then everything is trained)."""
    try:
        directory = resolve(root)
        return {**read_manifest(directory), "path": str(directory)}
    except IndexLoadError:
        return None


def _reuse_model(previous: dict | None, name: str, fingerprint: str | None, manifest: dict, temp: Path,
                 max_drift: float, data: str | None = None) -> dict | None:
    """Copy the published version's model ``name`` into ``temp`` when retraining would learn (nearly) the same:
    same trainer code and settings, embedder, chunking and indexing code, and at most ``max_drift`` of the
    articles changed since the model was trained (0 changed: training, being deterministic, would write the
    same bytes). Training costs seconds on every one-article edit; a ranker scores generic features
    (arm scores and ranks), which a small edit barely moves. ``data``: the hash of what a model learns from
    instead of the articles (must be unchanged; the articles' drift then does not matter). Returns the new
    manifest entry, or None."""
    entry = (previous or {}).get("models", {}).get(name)
    if not entry or fingerprint is None or entry.get("fingerprint") != fingerprint or "trained_on" not in entry:
        return None
    if (previous["embedder"] != manifest["embedder"] or previous.get("chunking") != manifest["chunking"]
            or previous.get("build", {}).get("code_fingerprint") != manifest["build"]["code_fingerprint"]):
        return None
    trained, now = entry["trained_on"]["articles"], manifest["kb"]["articles"]
    drift = sum(trained.get(k) != now.get(k) for k in set(trained) | set(now))
    if entry["trained_on"].get("data") != data or (data is None and drift > max_drift * max(len(trained), 1)):
        return None  # a model with its own data ignores the articles' drift
    source = Path(previous["path"])
    for file in entry["files"]:  # only files that still match the checksums they were published with
        if not (source / file).is_file() or sha256_file(source / file) != previous["files"].get(file):
            return None
    for file in entry["files"]:
        written(temp / file, lambda target: shutil.copyfile(source / file, target))
    return {**entry, "reused_from": previous["version"], "articles_changed_since_training": drift}


def build(kb: Path, root: Path, embedder: Embedder, config: Config, full: bool = False,
          progress: Progress | None = None,
          parsed: ParsedKB | None = None, trainers: Mapping[str, Trainer] | None = None) -> BuildReport:
    """Build and publish a new index version; raise KBError if the KB has errors. ``progress`` reports
    each stage (parse, chunk, embed, bm25, write, train, publish)."""
    started = time.perf_counter()
    kb, root = Path(kb), Path(root)
    progress = progress or Progress(enabled=False)
    parsed = parsed or parse_kb(kb, progress=lambda files: progress.stage("parse", files, "files"))
    if parsed.errors:
        progress.finish()
        raise KBError(parsed.diagnostics)
    tick = progress.stage("chunk", len(parsed.articles), "articles")
    learned = parsed.learned.phrasings(config.learned_min_support, (a.id for a in parsed.articles))
    chunks, phrasings = chunk_kb(parsed.articles, config.chunk_max_chars, learned)
    tick(len(parsed.articles))
    try:
        return _build_locked(kb, root, embedder, config, full, progress, parsed, trainers, chunks, phrasings,
                             started)
    finally:
        progress.finish()


def _build_locked(kb, root, embedder, config, full, progress, parsed, trainers, chunks, phrasings,
                  started) -> BuildReport:
    with build_lock(root):
        sweep_temp_dirs(root)
        cache = EmbeddingCache(root / "cache", embedder.id, embedder.dim, load_existing=not full)
        examples = [e["text"] for e in parsed.assist["examples"]] if parsed.assist else []
        example_hashes = [sha256_text(text) for text in examples]
        scope_texts = [text for _, text in parsed.scope]  # what the shop does not handle, matched like a phrasing
        scope_hashes = [sha256_text(text) for text in scope_texts]
        todo = len(cache.missing([c.content_hash for c in chunks], "passage")  # a text in two lists counts once
                   | cache.missing([p.content_hash for p in phrasings] + example_hashes + scope_hashes, "query"))
        if hasattr(embedder, "plan"):
            embedder.plan(todo)  # a LazyEmbedder loads its model only if todo > 0, sized to it
        tick = progress.stage("embed", todo, "texts")
        chunk_vectors, embedded_chunks = cache.embed(
            embedder, [c.embed_text for c in chunks], [c.content_hash for c in chunks], "passage",
            config.embed_batch_size, tick)
        phrasing_vectors, embedded_phrasings = cache.embed(
            embedder, [p.text for p in phrasings], [p.content_hash for p in phrasings], "query",
            config.embed_batch_size, tick)
        example_vectors, embedded_examples = cache.embed(  # the triage examples, matched against the question
            embedder, examples, example_hashes, "query", config.embed_batch_size, tick)
        scope_vectors, embedded_scope = cache.embed(
            embedder, scope_texts, scope_hashes, "query", config.embed_batch_size, tick)
        used = ({f"passage:{c.content_hash}" for c in chunks} | {f"query:{p.content_hash}" for p in phrasings}
                | {f"query:{h}" for h in example_hashes + scope_hashes})
        cache.save(keep=used)

        user_words = user_words_from(parsed.articles)
        token_cache = TokenCache(root / "cache", tokenizer_key(code_fingerprint(), user_words), load_existing=not full)
        chunk_hashes = [c.content_hash for c in chunks]
        tick = progress.stage("bm25", token_cache.count_missing(chunk_hashes), "chunks tokenized")
        dictionaries = config.dictionary_folder(root)
        bm25 = BM25.build(token_cache.tokens(lambda texts: tokenize_texts(texts, user_words, dictionaries, tick),
                                             [c.embed_text for c in chunks], chunk_hashes))
        token_cache.save(keep=set(chunk_hashes))
        now = dt.datetime.now(dt.timezone.utc)
        version = f"{now:%Y%m%dT%H%M%S%fZ}-{parsed.content_hash[:8]}"
        embedded = embedded_chunks + embedded_phrasings + embedded_examples + embedded_scope
        texts = len(chunks) + len(phrasings) + len(examples) + len(parsed.scope)
        manifest = {
            "version": version,
            "built_at": now.isoformat(timespec="seconds"),
            "embedder": {"id": embedder.id, "dim": embedder.dim},
            "chunking": chunking_params(config.chunk_max_chars, config.learned_min_support),
            "kb": {"path": str(kb), "content_hash": parsed.content_hash, "git_commit": git_commit(kb),
                   "articles": {a.id: a.content_hash for a in parsed.articles}},
            "counts": {"articles": len(parsed.articles), "chunks": len(chunks), "phrasings": len(phrasings),
                       "assist_examples": len(examples), "scope_examples": len(parsed.scope)},
            "build": {"tool_version": __version__, "code_fingerprint": code_fingerprint(),
                      "trainers": {name: getattr(t, "fingerprint", None) for name, t in (trainers or {}).items()},
                      "python": platform.python_version(),
                      "embedded": embedded, "reused": texts - embedded},
        }
        temp = new_temp_dir(root, version)
        tick = progress.stage("write", 1, "index")
        write_index(temp, manifest, parsed.articles, chunks, chunk_vectors, phrasings, phrasing_vectors,
                    bm25, user_words, parsed.assist, example_vectors, parsed.scope, scope_vectors)
        tick(1)
        training_started = time.perf_counter()
        models = {}
        if trainers:
            tick = progress.stage("train", len(trainers), "models")
            previous = None if full else _previous_manifest(root)
            written = None
            for name, trainer in trainers.items():
                fingerprint = getattr(trainer, "fingerprint", None)
                data = trainer.data_hash(parsed) if hasattr(trainer, "data_hash") else None
                entry = _reuse_model(previous, name, fingerprint, manifest, temp, config.model_reuse_max_drift, data)
                if entry is None:
                    written = written or load_index(temp)
                    entry = trainer(written, temp)  # empty: too little to learn from; served without it
                    if entry:
                        entry = {**entry, "fingerprint": fingerprint,
                                 "trained_on": {"version": version, "articles": manifest["kb"]["articles"],
                                                **({"data": data} if data else {})}}
                if entry:
                    models[name] = entry
                tick(1)
            add_models(temp, models)
        training_seconds = time.perf_counter() - training_started
        tick = progress.stage("publish", 1, "version")
        final = publish(root, temp, version, config.keep_versions)
        tick(1)
    warnings = tuple(d for d in parsed.diagnostics if d.severity == "warning")
    return BuildReport(version, final, len(parsed.articles), len(chunks), len(phrasings), embedded,
                       texts - embedded, time.perf_counter() - started, warnings,
                       training_seconds, models)
