"""Out of scope: a question nearer to something the shop does not handle than to any article.

The index carries example questions of topics no article answers (``indexer.scope_data``: shipped
defaults such as recruiting, franchising, other platforms' orders, medical advice, chit-chat, plus the
KB's own). Cosine scales differ between shops and questions, so the test is relative: the nearest
out-of-scope example against the best evidence of the top suggestion (its best section and its best
known phrasing) on the same query vector. It only speaks for Chinese questions: the examples are
Chinese, and a cross-lingual question is far from everything.
"""
from __future__ import annotations

import numpy as np

from indexer.pinyin import has_han
from indexer.store import Index

from .ended import match_strength
from .types import OutOfScope, Suggestion


class Scope:
    def __init__(self, examples: tuple[tuple[str, str], ...], vectors: np.ndarray | None):
        self.examples = examples
        self.vectors = vectors if examples and vectors is not None else None

    @classmethod
    def of_index(cls, index: Index) -> "Scope":
        return cls(index.scope, index.scope_vectors)

    def nearest(self, vector: np.ndarray | None) -> tuple[int, float] | None:
        if self.vectors is None or vector is None:
            return None
        cosines = self.vectors @ np.asarray(vector, dtype=np.float32)
        row = int(np.argmax(cosines))
        return row, float(cosines[row])

    def judge(self, text: str, vector: np.ndarray | None, suggestions: tuple[Suggestion, ...],
              margin: float) -> OutOfScope | None:
        """The out-of-scope topic that beats the top suggestion by more than ``margin``, if one does."""
        found = self.nearest(vector) if has_han(text) else None
        if found is None:
            return None
        row, similarity = found
        evidence = match_strength(suggestions[0].scores) if suggestions else -1.0
        if similarity <= evidence + margin:
            return None
        topic, example = self.examples[row]
        return OutOfScope(topic, example, round(similarity, 4), round(evidence, 4))
