"""BM25 token lists kept by their text's hash, next to the embedding cache, so a rebuild tokenizes
only the chunks that changed: jieba's dictionary alone takes 0.5-1 s to load in a fresh process.

One JSON file (plain data, no pickle) per tokenizer state: its name carries a hash of the tokenizing
code, the KB's user dictionary and the jieba and pypinyin versions, so anything that could change
a token list starts a fresh file. Written by temp file + rename, like the embedding cache.
"""
from __future__ import annotations

import hashlib
import json
import os
from importlib import metadata
from pathlib import Path
from typing import Callable, Sequence

from .store import written


def tokenizer_key(code_fingerprint: str, user_words: Sequence[str]) -> str:
    versions = []
    for package in ("jieba", "pypinyin"):
        try:
            versions.append(metadata.version(package))
        except metadata.PackageNotFoundError:  # pragma: no cover - depends on the install
            versions.append(None)
    blob = json.dumps([code_fingerprint, list(user_words), versions], ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


class TokenCache:
    def __init__(self, root: Path, key: str, load_existing: bool = True):
        self.root = Path(root)
        self.path = self.root / f"tokens-{key}.json"
        self._tokens: dict[str, list[str]] = {}
        if load_existing and self.path.exists():
            try:
                data = json.loads(self.path.read_text("utf-8"))
                if isinstance(data, dict):
                    self._tokens = data
            except (OSError, ValueError):
                self._tokens = {}  # a damaged cache only costs tokenizing again

    def tokens(self, tokenize: Callable[[list[str]], list[list[str]]], texts: Sequence[str],
               hashes: Sequence[str]) -> list[list[str]]:
        """Token lists for ``texts`` in order; ``tokenize`` is called once, on the cache misses."""
        missing = {key: text for text, key in zip(texts, hashes) if key not in self._tokens}
        if missing:
            self._tokens.update(zip(missing, tokenize(list(missing.values()))))
        return [self._tokens[key] for key in hashes]

    def count_missing(self, hashes: Sequence[str]) -> int:
        return len({key for key in hashes if key not in self._tokens})

    def save(self, keep: set[str]) -> None:
        """Atomically rewrite the cache with only ``keep``; token files of other tokenizer states go."""
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")

        def write(target: Path) -> None:
            with open(target, "w", encoding="utf-8") as handle:
                json.dump({k: v for k, v in self._tokens.items() if k in keep}, handle, ensure_ascii=False)
                handle.flush()
                os.fsync(handle.fileno())

        written(tmp, write)
        os.replace(tmp, self.path)
        for stale in self.root.glob("tokens-*.json"):
            if stale != self.path:
                stale.unlink(missing_ok=True)
