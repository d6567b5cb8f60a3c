"""Okapi BM25 over pre-tokenized documents, stored as plain ``.npy`` arrays plus JSON.

Hand-written (about 80 lines) rather than a library because search needs the
score of *every* candidate document — including ones another arm found — and
the files must live under our own manifest and checksums.
"""
from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

FILES = ("bm25.json", "bm25_term_ptr.npy", "bm25_docs.npy", "bm25_tf.npy", "bm25_doc_len.npy")


@dataclass(frozen=True)
class BM25:
    vocab: dict[str, int]
    term_ptr: np.ndarray  # postings of term t are docs[term_ptr[t]:term_ptr[t+1]]
    docs: np.ndarray
    tf: np.ndarray
    doc_len: np.ndarray
    k1: float = 1.2
    b: float = 0.75

    @classmethod
    def build(cls, documents: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75) -> "BM25":
        postings: dict[str, list[tuple[int, int]]] = {}
        for doc_id, tokens in enumerate(documents):
            for term, count in Counter(tokens).items():
                postings.setdefault(term, []).append((doc_id, count))
        terms = sorted(postings)
        ptr = np.zeros(len(terms) + 1, dtype=np.int64)
        for i, term in enumerate(terms):
            ptr[i + 1] = ptr[i] + len(postings[term])
        docs = np.fromiter((d for t in terms for d, _ in postings[t]), dtype=np.int32, count=int(ptr[-1]))
        tf = np.fromiter((c for t in terms for _, c in postings[t]), dtype=np.float32, count=int(ptr[-1]))
        doc_len = np.array([len(d) for d in documents], dtype=np.float32)
        return cls({t: i for i, t in enumerate(terms)}, ptr, docs, tf, doc_len, k1, b)

    @property
    def n_docs(self) -> int:
        return len(self.doc_len)

    def idf(self, term: str) -> float:
        index = self.vocab.get(term)
        df = 0 if index is None else int(self.term_ptr[index + 1] - self.term_ptr[index])
        return math.log(1.0 + (self.n_docs - df + 0.5) / (df + 0.5))

    def scores(self, query_tokens: Sequence[str]) -> np.ndarray:
        """BM25 score of every document; each distinct query term counts once."""
        out = np.zeros(self.n_docs, dtype=np.float32)
        if not self.n_docs:
            return out
        avgdl = float(self.doc_len.mean()) or 1.0
        norm = self.k1 * (1.0 - self.b + self.b * self.doc_len / avgdl)
        for term in dict.fromkeys(query_tokens):
            index = self.vocab.get(term)
            if index is None:
                continue
            lo, hi = self.term_ptr[index], self.term_ptr[index + 1]
            docs, tf = self.docs[lo:hi], self.tf[lo:hi]
            out[docs] += self.idf(term) * tf * (self.k1 + 1.0) / (tf + norm[docs])
        return out

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        terms = sorted(self.vocab, key=self.vocab.__getitem__)
        (directory / "bm25.json").write_text(
            json.dumps({"k1": self.k1, "b": self.b, "terms": terms}, ensure_ascii=False), encoding="utf-8")
        for name, array in (("term_ptr", self.term_ptr), ("docs", self.docs), ("tf", self.tf),
                            ("doc_len", self.doc_len)):
            np.save(directory / f"bm25_{name}.npy", array, allow_pickle=False)

    @classmethod
    def load(cls, directory: Path) -> "BM25":
        directory = Path(directory)
        meta = json.loads((directory / "bm25.json").read_text(encoding="utf-8"))
        arrays = {name: np.load(directory / f"bm25_{name}.npy", allow_pickle=False)
                  for name in ("term_ptr", "docs", "tf", "doc_len")}
        return cls({t: i for i, t in enumerate(meta["terms"])}, arrays["term_ptr"], arrays["docs"],
                   arrays["tf"], arrays["doc_len"], float(meta["k1"]), float(meta["b"]))
