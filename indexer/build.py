"""The rebuild job: parse → chunk → embed (reusing cached vectors) → write → publish.

Only one build runs per index root at a time (a lock file), and nothing is
visible to readers until the final rename, so a crash at any point leaves the
previously published index in place.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import platform
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from core.config import Config

from . import __version__
from .bm25 import BM25
from .chunk import chunk_kb, chunking_params
from .embed import Embedder
from .embed_cache import EmbeddingCache
from .parse import ParsedKB, parse_kb
from .records import Diagnostic, sha256_text
from .store import Index, add_models, load_index, new_temp_dir, publish, sweep_temp_dirs, write_index
from .tokenize import Tokenizer, user_words_from


# Source files whose code decides what an index holds, besides the embedder and the chunking settings.
_INDEX_SHAPING = ("parse.py", "frontmatter.py", "assist_data.py", "markdown_text.py", "records.py", "chunk.py", "tokenize.py", "pinyin.py",
                  "bm25.py", "stopwords.txt")


def code_fingerprint() -> str:
    """Hash of that source, recorded in the manifest: an index built by other code may hold other tokens."""
    digest = hashlib.sha256()
    for name in _INDEX_SHAPING:
        digest.update((Path(__file__).parent / name).read_bytes())
    return digest.hexdigest()[:16]


def is_current(manifest: dict, parsed: ParsedKB, embedder: Embedder, config: Config,
               trainers: Mapping[str, Trainer] | None = None) -> bool:
    """Whether an index with this manifest was built from this very KB, embedder, chunking and
    indexing code: the fields build() writes below, compared in the same module that writes them."""
    return (manifest["kb"]["content_hash"] == parsed.content_hash and manifest["embedder"]["id"] == embedder.id
            and manifest["chunking"] == chunking_params(config.chunk_max_chars)
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
        trained = f" (of which {self.training_seconds:.1f}s training {', '.join(self.models)})" if self.models else ""
        return (f"published {self.version}: {self.articles} articles, {self.chunks} chunks, "
                f"{self.phrasings} phrasings; embedded {self.embedded}, reused {self.reused}; "
                f"{self.seconds:.1f}s{trained}")


# A trainer fits a model on the freshly written index, writes its files into the directory and
# returns its manifest entry ({"files": [...], ...}); an optional ``fingerprint`` attribute (its code and
# settings) tells whether an index's model is current. The build job knows no model: the caller
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


def build(kb: Path, root: Path, embedder: Embedder, config: Config, full: bool = False,
          progress_factory: Callable[[int], Callable[[int], None]] | None = None,
          parsed: ParsedKB | None = None, trainers: Mapping[str, Trainer] | None = None) -> BuildReport:
    """Build and publish a new index version; raise KBError if the KB has errors."""
    started = time.perf_counter()
    kb, root = Path(kb), Path(root)
    parsed = parsed or parse_kb(kb)
    if parsed.errors:
        raise KBError(parsed.diagnostics)
    chunks, phrasings = chunk_kb(parsed.articles, config.chunk_max_chars)
    with build_lock(root):
        sweep_temp_dirs(root)
        cache = EmbeddingCache(root / "cache", embedder.id, embedder.dim, load_existing=not full)
        examples = [e["text"] for e in parsed.assist["examples"]] if parsed.assist else []
        example_hashes = [sha256_text(text) for text in examples]
        todo = (cache.count_missing([c.content_hash for c in chunks], "passage")
                + cache.count_missing([p.content_hash for p in phrasings], "query")
                + cache.count_missing(example_hashes, "query"))
        progress = progress_factory(todo) if progress_factory else None
        chunk_vectors, embedded_chunks = cache.embed(
            embedder, [c.embed_text for c in chunks], [c.content_hash for c in chunks], "passage",
            config.embed_batch_size, progress)
        phrasing_vectors, embedded_phrasings = cache.embed(
            embedder, [p.text for p in phrasings], [p.content_hash for p in phrasings], "query",
            config.embed_batch_size, progress)
        example_vectors, embedded_examples = cache.embed(  # the triage examples, matched against the question
            embedder, examples, example_hashes, "query", config.embed_batch_size, progress)
        used = ({f"passage:{c.content_hash}" for c in chunks} | {f"query:{p.content_hash}" for p in phrasings}
                | {f"query:{h}" for h in example_hashes})
        cache.save(keep=used)

        user_words = user_words_from(parsed.articles)
        tokenizer = Tokenizer(user_words)
        bm25 = BM25.build([tokenizer.tokens(c.embed_text) for c in chunks])
        now = dt.datetime.now(dt.timezone.utc)
        version = f"{now:%Y%m%dT%H%M%S%fZ}-{parsed.content_hash[:8]}"
        embedded = embedded_chunks + embedded_phrasings + embedded_examples
        texts = len(chunks) + len(phrasings) + len(examples)
        manifest = {
            "version": version,
            "built_at": now.isoformat(timespec="seconds"),
            "embedder": {"id": embedder.id, "dim": embedder.dim},
            "chunking": chunking_params(config.chunk_max_chars),
            "kb": {"path": str(kb), "content_hash": parsed.content_hash, "git_commit": git_commit(kb),
                   "articles": {a.id: a.content_hash for a in parsed.articles}},
            "counts": {"articles": len(parsed.articles), "chunks": len(chunks), "phrasings": len(phrasings),
                       "assist_examples": len(examples)},
            "build": {"tool_version": __version__, "code_fingerprint": code_fingerprint(),
                      "trainers": {name: getattr(t, "fingerprint", None) for name, t in (trainers or {}).items()},
                      "python": platform.python_version(),
                      "embedded": embedded, "reused": texts - embedded},
        }
        temp = new_temp_dir(root, version)
        write_index(temp, manifest, parsed.articles, chunks, chunk_vectors, phrasings, phrasing_vectors,
                    bm25, user_words, parsed.assist, example_vectors)
        training_started = time.perf_counter()
        models = {}
        if trainers:
            written = load_index(temp)
            for name, trainer in trainers.items():
                entry = trainer(written, temp)  # empty: too little to learn from; served without it
                if entry:
                    models[name] = {**entry, "fingerprint": getattr(trainer, "fingerprint", None)}
            add_models(temp, models)
        training_seconds = time.perf_counter() - training_started
        final = publish(root, temp, version, config.keep_versions)
    warnings = tuple(d for d in parsed.diagnostics if d.severity == "warning")
    return BuildReport(version, final, len(parsed.articles), len(chunks), len(phrasings), embedded,
                       texts - embedded, time.perf_counter() - started, warnings,
                       training_seconds, models)
