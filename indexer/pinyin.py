"""Pinyin helpers for how customers really type.

- Homophone typos (发或 for 发货, 新将包油 for 新疆包邮) and Traditional characters
  (發貨) share toneless pinyin with the right words, so BM25 also indexes pinyin
  syllable bigrams.
- Pinyin spellings and initials (fahuo, fh, bzq, qtwly) are rewritten into the KB
  word they spell before searching (``retrieval.rewrite``).
"""
from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

_HAN_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")
_HAN = re.compile(r"[\u4e00-\u9fff]")
PREFIX = "py:"


def has_han(text: str) -> bool:
    """Whether the text has any Chinese character."""
    return bool(_HAN.search(text))


def han_runs(text: str) -> list[str]:
    return _HAN_RUN.findall(text)


def syllable_bigrams(text: str, known: Mapping[str, list[str]] | None = None) -> list[str]:
    """'发货' → ['py:fa_huo']: toneless pinyin of neighbouring Han characters. ``known``: the syllables
    of these runs, already worked out (see ``run_syllables``)."""
    grams = []
    for run in _HAN_RUN.findall(text):
        if known is not None and run in known:
            syllables = known[run]
        else:
            from pypinyin import lazy_pinyin  # on first use: a rebuild with cached tokens never needs it

            syllables = lazy_pinyin(run)
        grams.extend(f"{PREFIX}{a}_{b}" for a, b in zip(syllables, syllables[1:]))
    return grams


# ---------------------------------------------------------------- a rebuild's few runs without pypinyin's 0.3 s

def _paths(folder: Path) -> dict[str, Path]:
    from importlib import metadata

    stem = f"pypinyin-{metadata.version('pypinyin')}"
    return {part: Path(folder) / f"{stem}.{part}" for part in
            ("chars.npy", "char_pinyin.npy", "phrases.npy", "phrase_pinyin.npy", "prefixes.npy", "json")}


def save_pinyin_arrays(folder: Path) -> None:
    """pypinyin's data (character and phrase readings, and the phrase prefixes its segmenter walks) as
    sorted plain arrays, the JSON last (it marks them complete). Once per pypinyin version."""
    paths = _paths(folder)
    if paths["json"].exists():
        return
    from pypinyin.constants import PHRASES_DICT, PINYIN_DICT

    chars = sorted(PINYIN_DICT)
    phrases = sorted(PHRASES_DICT)
    arrays = {"chars.npy": np.array(chars, dtype=np.int64),
              "char_pinyin.npy": np.array([PINYIN_DICT[c] for c in chars]),
              "phrases.npy": np.array(phrases),
              "phrase_pinyin.npy": np.array([json.dumps(PHRASES_DICT[p], ensure_ascii=False) for p in phrases]),
              "prefixes.npy": np.array(sorted({p[:i] for p in phrases for i in range(1, len(p) + 1)}))}
    Path(folder).mkdir(parents=True, exist_ok=True)
    for part, array in arrays.items():
        tmp = paths[part].with_name(paths[part].name + ".tmp.npy")
        np.save(tmp, array, allow_pickle=False)
        os.replace(tmp, paths[part])
    tmp = paths["json"].with_name(paths["json"].name + ".tmp")
    tmp.write_text(json.dumps({part: len(array) for part, array in arrays.items()}), encoding="utf-8")
    os.replace(tmp, paths["json"])


def _lookup(keys: np.ndarray, queries: list) -> tuple[np.ndarray, np.ndarray]:
    """(positions in ``keys``, found mask) of ``queries`` in the sorted ``keys``."""
    if not len(queries) or not len(keys):
        return np.zeros(0, dtype=np.int64), np.zeros(len(queries), dtype=bool)
    queries = np.array(queries, dtype=keys.dtype if keys.dtype.kind == "i" else None)
    at = np.minimum(np.searchsorted(keys, queries), len(keys) - 1)
    return at, keys[at] == queries


def run_syllables(folder: Path, runs: Iterable[str]) -> dict[str, list[str]] | None:
    """``lazy_pinyin(run)`` of each run, computed by pypinyin's own code on a sub-dictionary: the readings
    of the runs' characters, the phrases inside them and the phrase prefixes inside them (all its
    segmenter and converter ever look up for these runs), so the result is the same without loading its
    whole data. pypinyin keeps its data in module globals, so a private copy of the package is imported
    for this and dropped again (the build is one thread here). None without the arrays."""
    import importlib
    import types

    paths = _paths(folder)
    try:
        counts = json.loads(paths["json"].read_text("utf-8"))
        arrays = {part: np.load(paths[part], mmap_mode="r", allow_pickle=False) for part in counts}
    except (OSError, ValueError):
        return None
    if any(len(arrays[part]) != n for part, n in counts.items()):
        return None
    runs = sorted(set(runs))
    chars = sorted({ord(c) for run in runs for c in run})
    at, found = _lookup(arrays["chars.npy"], chars)
    pinyin_dict = dict(zip(np.array(chars)[found].tolist(), arrays["char_pinyin.npy"][at[found]].tolist()))
    longest = max(arrays["prefixes.npy"].dtype.itemsize // 4, 1)
    grams = sorted({run[i:j] for run in runs for i in range(len(run)) for j in range(i + 1, min(i + longest, len(run)) + 1)})
    at, found = _lookup(arrays["phrases.npy"], grams)
    phrases = np.array(grams)[found].tolist() if grams else []
    phrases_dict = {p: json.loads(v) for p, v in zip(phrases, arrays["phrase_pinyin.npy"][at[found]].tolist())}
    at, found = _lookup(arrays["prefixes.npy"], grams)
    prefixes = set(np.array(grams)[found].tolist()) if grams else set()

    saved = {name: module for name, module in sys.modules.items() if name == "pypinyin" or name.startswith("pypinyin.")}
    for name in saved:
        del sys.modules[name]
    stubs = {"pypinyin.pinyin_dict": ("pinyin_dict", pinyin_dict), "pypinyin.phrases_dict": ("phrases_dict", phrases_dict)}
    try:
        for name, (attribute, value) in stubs.items():
            stub = types.ModuleType(name)
            setattr(stub, attribute, value)
            sys.modules[name] = stub
        private = importlib.import_module("pypinyin")
        sys.modules["pypinyin.seg.mmseg"].p_set._set = prefixes  # the prefixes of all phrases, not just these
        return {run: private.lazy_pinyin(run) for run in runs}
    finally:
        for name in [n for n in sys.modules if n == "pypinyin" or n.startswith("pypinyin.")]:
            del sys.modules[name]
        sys.modules.update(saved)
