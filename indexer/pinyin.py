"""Pinyin helpers for how customers really type.

- Homophone typos (发或 for 发货, 新将包油 for 新疆包邮) and Traditional characters
  (發貨) share toneless pinyin with the right words, so BM25 also indexes pinyin
  syllable bigrams.
- Pinyin spellings and initials (fahuo, fh, bzq, qtwly) are rewritten into the KB
  word they spell before searching.
"""
from __future__ import annotations

import re
from typing import Iterable

from pypinyin import Style, lazy_pinyin

_HAN_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")
_HAN_WORD = re.compile(r"^[\u4e00-\u9fff]{2,6}$")
_LATIN = re.compile(r"[a-z]{2,}", re.IGNORECASE)
_HAN = re.compile(r"[\u4e00-\u9fff]")
_VOWELS = re.compile(r"[aeiou]")
PREFIX = "py:"


def has_han(text: str) -> bool:
    """Whether the text has any Chinese character."""
    return bool(_HAN.search(text))


def syllable_bigrams(text: str) -> list[str]:
    """'发货' → ['py:fa_huo']: toneless pinyin of neighbouring Han characters."""
    grams = []
    for run in _HAN_RUN.findall(text):
        syllables = lazy_pinyin(run)
        grams.extend(f"{PREFIX}{a}_{b}" for a, b in zip(syllables, syllables[1:]))
    return grams


class PinyinLexicon:
    """Maps a full pinyin spelling or an initials string to the most frequent KB word it spells."""

    def __init__(self, words_with_frequency: Iterable[tuple[str, int]]):
        best: dict[str, tuple[int, str]] = {}
        for word, frequency in words_with_frequency:
            if not _HAN_WORD.match(word):
                continue
            for key in ("".join(lazy_pinyin(word)), "".join(lazy_pinyin(word, style=Style.FIRST_LETTER))):
                if (frequency, word) > best.get(key, (-1, "")):
                    best[key] = (frequency, word)
        self._words = {key: word for key, (_, word) in best.items()}

    def lookup(self, token: str, allow_initials: bool) -> str | None:
        """A full spelling always; initials only when allowed and vowel-free, so English words don't."""
        token = token.lower()
        word = self._words.get(token)
        if word is None:
            return None
        if "".join(lazy_pinyin(word)) == token:
            return word
        return word if allow_initials and not _VOWELS.search(token) else None

    def rewrite(self, text: str) -> str:
        """Replace each pinyin token by its KB word. Initials (fh, bzq) count only inside Chinese
        text: in an English message "my" or "kg" are English."""
        allow_initials = has_han(text)
        return _LATIN.sub(lambda m: self.lookup(m.group(0), allow_initials) or m.group(0), text)
