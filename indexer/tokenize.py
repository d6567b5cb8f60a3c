"""Chinese-aware tokenization for BM25 and highlights: jieba plus a user dictionary built from the KB.

The user dictionary keeps product names, SKUs and tags whole ("PPR-9087",
"山茶花精华面霜"), which jieba's general dictionary would cut apart.
"""
from __future__ import annotations

import functools
import json
import logging
import os
import re
import threading
from collections import ChainMap
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Callable, Iterable

import jieba
import numpy as np

from .pinyin import han_runs, run_syllables, save_pinyin_arrays, syllable_bigrams

jieba.setLogLevel(logging.WARNING)

_WORDLIKE = re.compile(r"[\w\u4e00-\u9fff]", re.UNICODE)


def normalize(text: str) -> str:
    """Lowercase and fold full-width ASCII, one character for one, so offsets stay valid."""
    out = []
    for ch in text:
        code = ord(ch)
        if 0xFF01 <= code <= 0xFF5E:
            ch = chr(code - 0xFEE0)
        elif code == 0x3000:
            ch = " "
        lower = ch.lower()
        out.append(lower if len(lower) == 1 else ch)
    return "".join(out)


def _load_stopwords() -> frozenset[str]:
    text = resources.files(__package__).joinpath("stopwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


STOPWORDS = _load_stopwords()


def user_words_from(articles) -> list[str]:
    """Terms worth keeping whole: product names, tags, SKUs (also as their parts)."""
    words: set[str] = set()
    for article in articles:
        for term in (*article.products, *article.tags):
            term = normalize(term).strip()
            if len(term) >= 2:
                words.add(term)
    return sorted(words)


@functools.lru_cache(maxsize=1)
def _base_dictionary() -> jieba.Tokenizer:
    """jieba's general dictionary, loaded once per process (about half a second)."""
    base = jieba.Tokenizer()
    base.initialize()
    return base


SUBSET_MAX_CHARS = 50_000  # texts longer than this in all: load the whole dictionary instead


def _dictionary_paths(folder: Path) -> tuple[Path, Path, Path]:
    stem = f"jieba-{jieba.__version__}"
    return tuple(Path(folder) / f"{stem}.{suffix}" for suffix in ("words.npy", "freqs.npy", "json"))


def save_dictionary_arrays(folder: Path) -> None:
    """Write jieba's general dictionary as sorted plain arrays (words, frequencies) plus its total, the
    JSON last (it marks the pair complete), each by temp file + rename. Once per jieba version."""
    words_path, freqs_path, meta_path = _dictionary_paths(folder)
    if meta_path.exists():
        return
    base = _base_dictionary()
    words = np.array(sorted(base.FREQ))
    freqs = np.array([base.FREQ[w] for w in words.tolist()], dtype=np.int64)
    Path(folder).mkdir(parents=True, exist_ok=True)
    for path, array in ((words_path, words), (freqs_path, freqs)):
        tmp = path.with_name(path.name + ".tmp.npy")
        np.save(tmp, array, allow_pickle=False)
        os.replace(tmp, path)
    tmp = meta_path.with_name(meta_path.name + ".tmp")
    tmp.write_text(json.dumps({"total": base.total, "words": len(words)}), encoding="utf-8")
    os.replace(tmp, meta_path)


def dictionary_arrays(folder: Path) -> tuple[np.ndarray, np.ndarray, int] | None:
    """jieba's general dictionary as memory-mapped (sorted words, frequencies, total); None without them."""
    words_path, freqs_path, meta_path = _dictionary_paths(folder)
    try:
        meta = json.loads(meta_path.read_text("utf-8"))
        words = np.load(words_path, mmap_mode="r", allow_pickle=False)
        freqs = np.load(freqs_path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError):
        return None
    if len(words) != meta["words"] or len(freqs) != meta["words"] or words.dtype.kind != "U":
        return None
    return words, freqs, int(meta["total"])


def entries_inside(arrays: tuple[np.ndarray, np.ndarray, int], texts: Iterable[str]) -> dict[str, int]:
    """Every dictionary entry that occurs inside ``texts``, found by binary search in the arrays: jieba only
    ever looks up substrings of the text it cuts, so these entries cut it exactly as the whole dictionary."""
    words, freqs, _ = arrays
    longest = words.dtype.itemsize // 4
    grams = {text[i:j] for text in texts for i in range(len(text))
             for j in range(i + 1, min(i + longest, len(text)) + 1)}
    if not grams:
        return {}
    queries = np.array(sorted(grams))
    at = np.minimum(np.searchsorted(words, queries), len(words) - 1)
    found = words[at] == queries
    return dict(zip(queries[found].tolist(), freqs[at[found]].tolist()))


def sub_dictionary(folder: Path, texts: Iterable[str]) -> tuple[dict[str, int], int] | None:
    """(the entries inside ``texts``, the dictionary's total) without 0.5-1 s of loading the whole
    dictionary; None without arrays."""
    arrays = dictionary_arrays(folder)
    return None if arrays is None else (entries_inside(arrays, texts), arrays[2])


def tokenize_texts(texts: list[str], user_words: Iterable[str], dictionary_folder: Path,
                   progress: Callable[[int], None] | None = None) -> list[list[str]]:
    """``Tokenizer(user_words).tokens`` of each text; a few texts (a rebuild's edited chunks) are cut with
    their sub-dictionary from ``dictionary_folder``, many with the whole dictionary, whose arrays are
    then saved there for the next rebuild."""
    user_words = tuple(user_words)
    base = syllables = None
    if sum(map(len, texts)) <= SUBSET_MAX_CHARS:
        base = sub_dictionary(dictionary_folder, [normalize(t) for t in texts] + list(user_words))
        syllables = run_syllables(dictionary_folder, [run for t in texts for run in han_runs(t)])
    tokenizer = Tokenizer(user_words, base=base, syllables=syllables)
    out = []
    for text in texts:
        out.append(tokenizer.tokens(text))
        if progress:
            progress(1)
    if base is None and texts:
        save_dictionary_arrays(dictionary_folder)
    if syllables is None and texts:
        save_pinyin_arrays(dictionary_folder)
    return out


class Tokenizer:
    """A private jieba instance (jieba's global one is shared process-wide state). ``base``: the
    (frequencies, total) to start from instead of jieba's whole general dictionary (see sub_dictionary).
    ``dictionary``: a folder with the dictionary's arrays (``save_dictionary_arrays``); each text is then cut
    with just the entries inside it, so a server never holds the whole dictionary (about 100 MB)."""

    def __init__(self, user_words: Iterable[str] = (), cache_size: int = 16384,
                 base: tuple[dict[str, int], int] | None = None, syllables: dict[str, list[str]] | None = None,
                 dictionary: Path | None = None):
        self.user_words = tuple(sorted(set(user_words)))
        self._base = base
        self._arrays = dictionary_arrays(dictionary) if dictionary is not None and base is None else None
        self._syllables = syllables  # pinyin of known Han runs (see pinyin.run_syllables)
        self._lock = threading.Lock()
        # KB sentences are a small fixed set, tokenized again for every snippet: cache them.
        self.spans = functools.lru_cache(maxsize=cache_size)(self._spans)

    @cached_property
    def _jieba(self) -> tuple[jieba.Tokenizer, dict[str, int]]:
        """The tokenizer and its own entries (the user words, and the base dictionary unless it is cut per text):
        with per-text cutting, each text's sub-dictionary is laid over those entries."""
        tokenizer = jieba.Tokenizer()
        if self._arrays is not None:  # the user words and what they contain; each text adds its own entries
            tokenizer.FREQ, tokenizer.total = entries_inside(self._arrays, self.user_words), self._arrays[2]
        elif self._base is not None:
            tokenizer.FREQ, tokenizer.total = dict(self._base[0]), self._base[1]
        else:
            base = _base_dictionary()
            tokenizer.FREQ, tokenizer.total = dict(base.FREQ), base.total
        tokenizer.initialized = True
        for word in self.user_words:
            tokenizer.add_word(word, freq=max(tokenizer.suggest_freq(word), 50000))
        return tokenizer, tokenizer.FREQ

    def _spans(self, text: str) -> tuple[tuple[str, int, int], ...]:
        """(token, start, end) over ``text``; sub-words of long words are included (search mode)."""
        norm = normalize(text)
        with self._lock:
            tokenizer, own_entries = self._jieba
            if self._arrays is not None:
                tokenizer.FREQ = ChainMap(own_entries, entries_inside(self._arrays, [norm]))
            raw = list(tokenizer.tokenize(norm, mode="search"))
        return tuple((w, s, e) for w, s, e in raw if w.strip() and _WORDLIKE.search(w) and w not in STOPWORDS)

    def words(self, text: str) -> set[str]:
        return {w for w, _, _ in self.spans(text)}

    def tokens(self, text: str) -> list[str]:
        """Words, plus pinyin syllable bigrams that let homophone typos and Traditional characters match.
        Not cached: this is how a question (or a chunk, once, at build time) is cut, and customers' distinct
        texts would fill the cache that ``spans`` keeps for the KB's sentences (up to ~0.4 MB a long one)."""
        return [w for w, _, _ in self._spans(text)] + syllable_bigrams(text, self._syllables)
