"""The learned ranker an index carries (trained at build time by ``retrieval.train``).

Stored as LightGBM's plain-text model file in the index directory and listed,
with its checksum and the feature names it expects, in the manifest under
``models``; evaluated by ``retrieval.trees`` (numpy), so serving needs no LightGBM.
An index without it is served with the hand-set fusion.
"""
from __future__ import annotations

import numpy as np

from indexer.store import Index, IndexLoadError

from .features import CANDIDATE_FEATURES
from .trees import TreeEnsemble, TreeModelError

MODEL_FORMAT = 1
RANKER_FILE = "ranker.lgb.txt"


class ModelLoadError(IndexLoadError):
    """The index's model files do not fit this code (other features or format): rebuild the index."""


class LearnedRanker:
    def __init__(self, trees: TreeEnsemble):
        self.trees = trees

    @classmethod
    def of_index(cls, index: Index) -> "LearnedRanker | None":
        entry = index.manifest.get("models", {}).get("ranker")
        if not entry:
            return None
        if entry.get("format") != MODEL_FORMAT or tuple(entry.get("features", ())) != CANDIDATE_FEATURES:
            raise ModelLoadError(f"index {index.version}: its learned ranker was trained on other features; "
                                 "rebuild the index (python -m indexer build)")
        try:
            trees = TreeEnsemble.load(index.path / RANKER_FILE)
        except (OSError, TreeModelError) as exc:
            raise ModelLoadError(f"index {index.version}: cannot read its learned ranker ({exc}); "
                                 "rebuild the index (python -m indexer build)") from None
        if trees.n_features != len(CANDIDATE_FEATURES):
            raise ModelLoadError(f"index {index.version}: its learned ranker expects {trees.n_features} features, "
                                 f"not {len(CANDIDATE_FEATURES)}; rebuild the index (python -m indexer build)")
        return cls(trees)

    def scores(self, matrix: np.ndarray) -> np.ndarray:
        if not len(matrix):
            return np.zeros(0)
        return self.trees.predict(matrix)
