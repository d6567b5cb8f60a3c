"""Index stage: the on-disk index — plain files, a manifest, atomic publishing, a strict loader.

Layout of an index root::

    CURRENT                 name of the published version (replaced by rename)
    versions/<version>/     manifest.json (written last) + the files it lists
    cache/                  embedding cache (see embed_cache.py)
    .tmp-*/                 a build in progress; never read, swept by the next build
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import errno
import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import faiss
import numpy as np

from .bm25 import BM25, FILES as BM25_FILES
from .records import Article, Chunk, Phrasing, Section
from .tokenize import Tokenizer

FORMAT_VERSION = 1
DATA_FILES = ("articles.json", "chunks.jsonl", "chunks.faiss", "phrasings.json", "phrasings.faiss",
              "userdict.txt", *BM25_FILES)
ASSIST_FILES = ("assist.json", "assist_examples.npy")  # the triage data, when the KB has some (_assist/)
SCOPE_FILES = ("scope.json", "scope_examples.npy")  # what the shop does not handle (indexer/scope_data.py)


_MANIFEST_KEYS = {"version": str, "embedder": dict, "counts": dict, "files": dict}  # what the loader reads


class IndexLoadError(RuntimeError):
    """The index is missing, damaged or does not match what the loader expects."""


@dataclass(frozen=True)
class Index:
    path: Path
    manifest: dict[str, Any]
    articles: dict[str, Article]
    chunks: tuple[Chunk, ...]
    chunk_vectors: np.ndarray
    chunk_faiss: Any
    phrasings: tuple[Phrasing, ...]
    phrasing_vectors: np.ndarray
    phrasing_faiss: Any
    bm25: BM25
    tokenizer: Tokenizer
    assist: dict[str, Any] | None = None  # triage data (indexer/assist_data.py), None for a KB without it
    assist_vectors: np.ndarray | None = None  # one row per assist["examples"] entry
    scope: tuple[tuple[str, str], ...] = ()  # (topic, example question) the shop does not handle
    scope_vectors: np.ndarray | None = None  # one row per scope entry

    @property
    def version(self) -> str:
        return self.manifest["version"]

    @property
    def counts(self) -> dict[str, int]:
        return self.manifest["counts"]


# ---------------------------------------------------------------- (de)serialising records

def _plain(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def article_from_json(data: dict) -> Article:
    sections = tuple(Section(tuple(s["heading_path"]), s["anchor"], s["markdown"], s["text"], s["line"])
                     for s in data["sections"])
    return Article(**{**data, "products": tuple(data["products"]), "questions": tuple(data["questions"]),
                      "tags": tuple(data["tags"]), "valid_from": _date(data["valid_from"]),
                      "valid_until": _date(data["valid_until"]), "sections": sections})


def chunk_from_json(data: dict) -> Chunk:
    return Chunk(**{**data, "heading_path": tuple(data["heading_path"]), "products": tuple(data["products"]),
                    "valid_from": _date(data["valid_from"]), "valid_until": _date(data["valid_until"])})


def _faiss_flat(vectors: np.ndarray, dim: int):
    """Exact inner-product search: KBs hold thousands of vectors, where a flat scan takes
    well under a millisecond, needs no training and gives deterministic results."""
    index = faiss.IndexFlatIP(dim)
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------- writing

def write_index(directory: Path, manifest: dict[str, Any], articles: Iterable[Article],
                chunks: list[Chunk], chunk_vectors: np.ndarray, phrasings: list[Phrasing],
                phrasing_vectors: np.ndarray, bm25: BM25, user_words: list[str],
                assist: dict[str, Any] | None = None, assist_vectors: np.ndarray | None = None,
                scope: Sequence[tuple[str, str]] = (), scope_vectors: np.ndarray | None = None) -> dict[str, Any]:
    """Write every data file, then the manifest (with their checksums) last."""
    directory.mkdir(parents=True, exist_ok=False)
    dim = manifest["embedder"]["dim"]

    def chunk_lines(path: Path) -> None:
        with open(path, "w", encoding="utf-8") as handle:
            for chunk in chunks:
                handle.write(json.dumps(_plain(chunk), ensure_ascii=False) + "\n")

    written(directory / "articles.json", lambda p: p.write_text(
        json.dumps([_plain(a) for a in articles], ensure_ascii=False), encoding="utf-8"))
    written(directory / "chunks.jsonl", chunk_lines)
    written(directory / "phrasings.json", lambda p: p.write_text(
        json.dumps([_plain(p) for p in phrasings], ensure_ascii=False), encoding="utf-8"))
    written(directory / "chunks.faiss", lambda p: faiss.write_index(_faiss_flat(chunk_vectors, dim), str(p)))
    written(directory / "phrasings.faiss", lambda p: faiss.write_index(_faiss_flat(phrasing_vectors, dim), str(p)))
    written(directory, bm25.save)
    written(directory / "userdict.txt", lambda p: p.write_text("\n".join(user_words) + "\n", encoding="utf-8"))
    names = DATA_FILES
    if assist is not None:
        names += _write_with_vectors(directory, ASSIST_FILES, assist, assist_vectors, dim)
    if scope:
        names += _write_with_vectors(directory, SCOPE_FILES, [list(pair) for pair in scope], scope_vectors, dim)
    manifest = {**manifest, "format_version": FORMAT_VERSION,
                "files": {name: sha256_file(directory / name) for name in names}}
    _write_json_durably(directory / "manifest.json", manifest)
    return manifest


def add_models(directory: Path, models: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Record models trained on a written index (their files already in ``directory``) in its
    manifest, with checksums, so the loader verifies them like every other file."""
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    files = dict(manifest["files"])
    for entry in models.values():
        files.update({name: sha256_file(directory / name) for name in entry["files"]})
    manifest = {**manifest, "files": files, "models": models}
    _write_json_durably(directory / "manifest.json", manifest)
    return manifest


def written(path: Path, write: Callable[[Path], Any]) -> None:
    """``write(path)``, whose failure names ``path``: a full disk's EFBIG named no file, and an ENOSPC while
    copying named the published file it was copied from. (faiss reports a failed write as a RuntimeError.)"""
    try:
        write(path)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
    except RuntimeError as exc:
        raise OSError(errno.EIO, f"write failed: {str(exc).strip().splitlines()[-1][:160]}", str(path)) from exc


def _write_json_durably(path: Path, data: Any) -> None:
    def write(target: Path) -> None:
        with open(target, "w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False, indent=2)
            handle.flush()
            os.fsync(handle.fileno())

    written(path, write)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def new_temp_dir(root: Path, version: str) -> Path:
    return Path(root) / f".tmp-{version}-{os.getpid()}"


def sweep_temp_dirs(root: Path) -> None:
    """Remove what interrupted builds left behind (call while holding the build lock)."""
    for stale in Path(root).glob(".tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)


def publish(root: Path, built: Path, version: str, keep: int) -> Path:
    """Move a finished build into versions/ and point CURRENT at it, each by an atomic rename."""
    root = Path(root)
    versions = root / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    for name in os.listdir(built):
        with open(built / name, "rb") as handle:
            os.fsync(handle.fileno())
    final = versions / version
    os.rename(built, final)
    _fsync_dir(versions)
    pointer = root / "CURRENT.tmp"
    with open(pointer, "w", encoding="utf-8") as handle:
        handle.write(version + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(pointer, root / "CURRENT")
    _fsync_dir(root)
    prune(root, keep)
    return final


def prune(root: Path, keep: int) -> None:
    """Delete all but the newest ``keep`` versions; the current one is never deleted."""
    current = current_version(root)
    names = sorted((p.name for p in (Path(root) / "versions").iterdir() if p.is_dir()), reverse=True)
    for name in names[max(keep, 1):]:
        if name != current:
            shutil.rmtree(Path(root) / "versions" / name, ignore_errors=True)


# ---------------------------------------------------------------- reading

_VERSION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")


def current_version(root: Path) -> str | None:
    """The version CURRENT names; None when there is no CURRENT or it is empty. Only ``publish`` writes it,
    always one directory name under versions/: a path there (``..``, ``/srv/other``) is damage or tampering
    and is refused (IndexLoadError), never followed out of the index root."""
    try:
        name = (Path(root) / "CURRENT").read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise IndexLoadError(f"CURRENT is unreadable: {exc}") from None
    if name and not _VERSION_NAME.fullmatch(name):
        raise IndexLoadError(f"CURRENT names {name[:100]!r}, which is outside versions/ (it must be one version's "
                             f"directory name); not followed")
    return name or None


def resolve(path: Path) -> Path:
    """An index root (with CURRENT) or one version's directory → that version's directory."""
    path = Path(path)
    if (path / "manifest.json").exists():
        return path
    version = current_version(path)
    if version is None:
        raise IndexLoadError(f"no published index in {path} (build one: python -m indexer build --out {path})")
    return path / "versions" / version


def read_manifest(version_dir: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((Path(version_dir) / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexLoadError(f"{version_dir}: manifest.json is missing (incomplete or foreign directory)") from None
    except (OSError, ValueError) as exc:
        raise IndexLoadError(f"{version_dir}: manifest.json is unreadable: {exc}") from None
    if not isinstance(manifest, dict):
        raise IndexLoadError(f"{version_dir}: manifest.json is not a JSON object")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexLoadError(f"{version_dir}: index format {manifest.get('format_version')!r} is not the "
                             f"supported format {FORMAT_VERSION}; rebuild it with this version")
    missing = [key for key, kind in _MANIFEST_KEYS.items() if not isinstance(manifest.get(key), kind)]
    if missing:
        raise IndexLoadError(f"{version_dir}: manifest.json lacks {', '.join(missing)}; rebuild the index")
    return manifest


def check_embedder(manifest: dict[str, Any], embedder_id: str, dim: int) -> None:
    built = manifest["embedder"]
    if built["id"] != embedder_id or built["dim"] != dim:
        raise IndexLoadError(f"index was built with embedder {built['id']} (dim {built['dim']}) but the "
                             f"service uses {embedder_id} (dim {dim}); rebuild or change --embedder")


def load_index(path: Path, embedder_id: str | None = None, dim: int | None = None,
               dictionary: Path | None = None) -> Index:
    """Load and verify (checksums, counts, embedder) a published index; raise IndexLoadError if off.
    ``dictionary``: the folder of jieba's dictionary arrays, to cut questions without loading it all."""
    directory = resolve(path)
    manifest = read_manifest(directory)
    if embedder_id is not None:
        check_embedder(manifest, embedder_id, dim if dim is not None else manifest["embedder"]["dim"])
    for name, expected in manifest.get("files", {}).items():
        file = directory / name
        if not file.exists():
            raise IndexLoadError(f"{directory}: {name} is missing")
        if sha256_file(file) != expected:
            raise IndexLoadError(f"{directory}: {name} does not match its checksum (damaged)")
    try:
        articles = [article_from_json(a) for a in json.loads((directory / "articles.json").read_text("utf-8"))]
        with open(directory / "chunks.jsonl", encoding="utf-8") as handle:
            chunks = tuple(chunk_from_json(json.loads(line)) for line in handle if line.strip())
        phrasings = tuple(Phrasing(**p) for p in json.loads((directory / "phrasings.json").read_text("utf-8")))
        chunk_faiss = faiss.read_index(str(directory / "chunks.faiss"))
        phrasing_faiss = faiss.read_index(str(directory / "phrasings.faiss"))
        bm25 = BM25.load(directory)
        user_words = [w for w in (directory / "userdict.txt").read_text("utf-8").splitlines() if w]
        assist, assist_vectors = _read_with_vectors(directory, manifest, ASSIST_FILES)
        scope, scope_vectors = _read_with_vectors(directory, manifest, SCOPE_FILES)
        scope = tuple((str(topic), str(text)) for topic, text in scope or ())
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise IndexLoadError(f"{directory}: cannot read index files: {exc}") from None
    counts = manifest["counts"]
    actual = {"articles": len(articles), "chunks": len(chunks), "phrasings": len(phrasings)}
    dim = manifest["embedder"]["dim"]
    if any(counts.get(k) != v for k, v in actual.items()) or chunk_faiss.ntotal != len(chunks) \
            or phrasing_faiss.ntotal != len(phrasings) or bm25.n_docs != len(chunks) or chunk_faiss.d != dim \
            or (assist is not None
                and not _rows_match(assist["examples"], assist_vectors, counts, "assist_examples", dim)) \
            or (scope and not _rows_match(scope, scope_vectors, counts, "scope_examples", dim)):
        raise IndexLoadError(f"{directory}: file contents do not match the manifest counts {counts}")
    return Index(directory, manifest, {a.id: a for a in articles}, chunks,
                 _vectors(chunk_faiss), chunk_faiss, phrasings, _vectors(phrasing_faiss), phrasing_faiss,
                 bm25, Tokenizer(user_words, dictionary=dictionary), assist, assist_vectors, scope, scope_vectors)


def _write_with_vectors(directory: Path, files: tuple[str, str], data: Any, vectors: np.ndarray,
                        dim: int) -> tuple[str, str]:
    """Example texts as JSON and their vectors (one row each) as .npy: the triage and out-of-scope data."""
    json_name, npy_name = files
    written(directory / json_name, lambda p: p.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8"))
    written(directory / npy_name, lambda p: np.save(p, np.asarray(vectors, dtype=np.float32).reshape(-1, dim)))
    return files


def _read_with_vectors(directory: Path, manifest: dict[str, Any],
                       files: tuple[str, str]) -> tuple[Any, np.ndarray | None]:
    """What ``_write_with_vectors`` wrote, or (None, None) for an index without it."""
    json_name, npy_name = files
    if json_name not in manifest.get("files", {}):
        return None, None
    return json.loads((directory / json_name).read_text("utf-8")), np.load(directory / npy_name, allow_pickle=False)


def _rows_match(rows, vectors: np.ndarray, counts: dict[str, Any], key: str, dim: int) -> bool:
    return len(rows) == counts.get(key) and vectors.shape == (len(rows), dim)


def _vectors(index) -> np.ndarray:
    if index.ntotal == 0:
        return np.zeros((0, index.d), dtype=np.float32)
    return index.reconstruct_n(0, index.ntotal)
