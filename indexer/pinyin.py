"""Pinyin helpers for how customers really type.

- Homophone typos (发或 for 发货, 新将包油 for 新疆包邮) and Traditional characters
  (發貨) share toneless pinyin with the right words, so BM25 also indexes pinyin
  syllable bigrams.
- Pinyin spellings and initials (fahuo, fh, bzq, qtwly) are rewritten into the KB
  word they spell before searching (``retrieval.rewrite``).
"""
from __future__ import annotations

import re

_HAN_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")
_HAN = re.compile(r"[\u4e00-\u9fff]")
PREFIX = "py:"


def has_han(text: str) -> bool:
    """Whether the text has any Chinese character."""
    return bool(_HAN.search(text))


def syllable_bigrams(text: str) -> list[str]:
    """'发货' → ['py:fa_huo']: toneless pinyin of neighbouring Han characters."""
    from pypinyin import lazy_pinyin  # imported on first use: a rebuild with cached tokens never needs it

    grams = []
    for run in _HAN_RUN.findall(text):
        syllables = lazy_pinyin(run)
        grams.extend(f"{PREFIX}{a}_{b}" for a, b in zip(syllables, syllables[1:]))
    return grams
