"""A linear (softmax) classifier per triage dimension — intent, urgency, emotion, hand-off — trained at build time
(``assist.train``) on the KB's labelled examples and stored in the index as plain files (one .npy of weights, the
layout in the manifest). It reads what the cue lexicon cannot: the query embedding the search already computed
(anger or urgency said without a marker word) and the message's character n-grams (phrasings one author did not
think of). Its probabilities are one more signal the triage weighs (``classifier_weight`` in taxonomy.yaml)."""
from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from indexer.store import Index, IndexLoadError

FORMAT = 1
WEIGHTS_FILE = "triage_classifier.npy"
NGRAMS = (1, 2, 3)  # character n-grams of the cleaned message
BUCKETS = 2048  # hashed n-gram features (crc32 modulo this): a fixed size, no vocabulary to store
DIMENSIONS = ("intent", "urgency", "emotion", "handoff")
NO_HANDOFF = "none"  # the hand-off dimension's label for an example without a hand-off


def ngrams(text: str) -> np.ndarray:
    """Binary hashed character n-grams of an already cleaned message (assist.model.clean)."""
    out = np.zeros(BUCKETS, dtype=np.float32)
    for n in NGRAMS:
        for i in range(len(text) - n + 1):
            out[zlib.crc32(text[i:i + n].encode("utf-8")) % BUCKETS] = 1.0
    return out


def features(text: str, vector: np.ndarray) -> np.ndarray:
    """[embedding scaled to unit-size components, n-grams, 1 (bias)]: one row of the design matrix."""
    vector = np.asarray(vector, dtype=np.float32).ravel()
    return np.concatenate([vector * np.float32(np.sqrt(len(vector))), ngrams(text), np.ones(1, np.float32)])


def softmax(scores: np.ndarray) -> np.ndarray:
    scores = scores - scores.max(axis=-1, keepdims=True)
    exp = np.exp(scores)
    return exp / exp.sum(axis=-1, keepdims=True)


class ClassifierLoadError(IndexLoadError):
    """The index's triage classifier does not fit this code: rebuild the index."""


@dataclass(frozen=True)
class Classifier:
    labels: dict[str, tuple[str, ...]]  # dimension → its labels, in the order of its weight columns
    weights: np.ndarray  # (features, all labels of all dimensions), dimensions side by side

    def probabilities(self, text: str, vector: np.ndarray | None) -> dict[str, dict[str, float]]:
        """dimension → label → probability; {} without a query vector."""
        if vector is None:
            return {}
        scores = features(text, vector) @ self.weights
        out, start = {}, 0
        for dim, labels in self.labels.items():
            probs = softmax(scores[start:start + len(labels)])
            out[dim] = dict(zip(labels, probs.tolist()))
            start += len(labels)
        return out

    @classmethod
    def of_index(cls, index: Index) -> "Classifier | None":
        entry = index.manifest.get("models", {}).get("triage")
        if not entry:
            return None
        layout = {"ngrams": list(NGRAMS), "buckets": BUCKETS}
        if entry.get("format") != FORMAT or entry.get("layout") != layout:
            raise ClassifierLoadError(f"index {index.version}: its triage classifier has another feature layout; "
                                      "rebuild the index (python -m indexer build)")
        weights = np.load(index.path / WEIGHTS_FILE, allow_pickle=False)
        labels = {dim: tuple(names) for dim, names in entry["labels"].items()}
        if weights.shape[1] != sum(map(len, labels.values())):
            raise ClassifierLoadError(f"index {index.version}: triage classifier weights do not match its labels")
        return cls(labels, weights)
