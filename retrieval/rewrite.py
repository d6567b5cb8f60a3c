"""Query rewriting: pinyin spellings and initials (fahuo, fh, bzq, qtwly) → the KB words they spell.
Syllables typed apart (``bao xiu duo jiu``) count when they are exactly a KB word's syllables."""
from __future__ import annotations

import re
from typing import Iterable

from indexer.pinyin import PREFIX as PINYIN_PREFIX, has_han
from indexer.store import Index

_HAN_WORD = re.compile(r"^[\u4e00-\u9fff]{2,6}$")
_LATIN = re.compile(r"[a-z]{2,}", re.IGNORECASE)
_SPACED = re.compile(r"[a-z]+(?: [a-z]+)+", re.IGNORECASE)
_MAX_SYLLABLES = 6
_VOWELS = re.compile(r"[aeiou]")


class PinyinLexicon:
    """Maps a full pinyin spelling or an initials string to the most frequent KB word it spells."""

    def __init__(self, words_with_frequency: Iterable[tuple[str, int]]):
        from pypinyin import Style, lazy_pinyin  # here, not at import: the build CLI imports this module

        best: dict[str, tuple[int, str]] = {}
        for word, frequency in words_with_frequency:
            if not _HAN_WORD.match(word):
                continue
            for key in ("".join(lazy_pinyin(word)), "".join(lazy_pinyin(word, style=Style.FIRST_LETTER))):
                if (frequency, word) > best.get(key, (-1, "")):
                    best[key] = (frequency, word)
        self._words = {key: word for key, (_, word) in best.items()}

    @classmethod
    def of_index(cls, index: Index) -> "PinyinLexicon":
        """The index's BM25 vocabulary, each word weighed by how many sections use it."""
        bm25 = index.bm25
        return cls((term, int(bm25.term_ptr[i + 1] - bm25.term_ptr[i]))
                   for term, i in bm25.vocab.items() if not term.startswith(PINYIN_PREFIX))

    def lookup(self, token: str, allow_initials: bool) -> str | None:
        """A full spelling always; initials only when allowed and vowel-free, so English words don't."""
        token = token.lower()
        word = self._words.get(token)
        if word is None:
            return None
        from pypinyin import lazy_pinyin

        if "".join(lazy_pinyin(word)) == token:
            return word
        return word if allow_initials and not _VOWELS.search(token) else None

    def syllables_word(self, syllables: list[str]) -> str | None:
        """The KB word whose pinyin is exactly these syllables, one token each (``bao xiu`` → 保修)."""
        from pypinyin import lazy_pinyin

        word = self._words.get("".join(syllables).lower())
        return word if word is not None and lazy_pinyin(word) == [s.lower() for s in syllables] else None

    def rewrite(self, text: str) -> str:
        """Replace each pinyin token, or run of syllables typed apart, by its KB word. Initials (fh, bzq)
        count only inside Chinese text: in an English message "my" or "kg" are English."""
        allow_initials = has_han(text)
        text = _SPACED.sub(lambda m: self._join_syllables(m.group(0).split(" ")), text)
        return _LATIN.sub(lambda m: self.lookup(m.group(0), allow_initials) or m.group(0), text)

    def _join_syllables(self, tokens: list[str]) -> str:
        out, i = [], 0
        while i < len(tokens):
            for j in range(min(len(tokens), i + _MAX_SYLLABLES), i + 1, -1):
                word = self.syllables_word(tokens[i:j])
                if word is not None:
                    out.append(word)
                    i = j
                    break
            else:
                out.append(tokens[i])
                i += 1
        joined = out[0]
        for before, piece in zip(out, out[1:]):  # a space stays only between two tokens left as typed
            joined += (" " if before.isascii() and piece.isascii() else "") + piece
        return joined
