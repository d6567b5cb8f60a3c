"""Chinese-aware tokenization for BM25 and highlights: jieba plus a user dictionary built from the KB.

The user dictionary keeps product names, SKUs and tags whole ("PPR-9087",
"山茶花精华面霜"), which jieba's general dictionary would cut apart.
"""
from __future__ import annotations

import functools
import logging
import re
import threading
from functools import cached_property
from importlib import resources
from typing import Iterable

import jieba

from .pinyin import syllable_bigrams

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


class Tokenizer:
    """A private jieba instance (jieba's global one is shared process-wide state)."""

    def __init__(self, user_words: Iterable[str] = (), cache_size: int = 16384):
        self.user_words = tuple(sorted(set(user_words)))
        self._lock = threading.Lock()
        # KB sentences are a small fixed set, tokenized again for every snippet: cache them.
        self.spans = functools.lru_cache(maxsize=cache_size)(self._spans)

    @cached_property
    def _jieba(self) -> jieba.Tokenizer:
        tokenizer = jieba.Tokenizer()
        base = _base_dictionary()
        tokenizer.FREQ, tokenizer.total, tokenizer.initialized = dict(base.FREQ), base.total, True
        for word in self.user_words:
            tokenizer.add_word(word, freq=max(tokenizer.suggest_freq(word), 50000))
        return tokenizer

    def _spans(self, text: str) -> tuple[tuple[str, int, int], ...]:
        """(token, start, end) over ``text``; sub-words of long words are included (search mode)."""
        norm = normalize(text)
        with self._lock:
            raw = list(self._jieba.tokenize(norm, mode="search"))
        return tuple((w, s, e) for w, s, e in raw if w.strip() and _WORDLIKE.search(w) and w not in STOPWORDS)

    def words(self, text: str) -> set[str]:
        return {w for w, _, _ in self.spans(text)}

    def tokens(self, text: str) -> list[str]:
        """Words, plus pinyin syllable bigrams that let homophone typos and Traditional characters match."""
        return [w for w, _, _ in self.spans(text)] + syllable_bigrams(text)
