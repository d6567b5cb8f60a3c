"""The learned ranker an index carries (trained at build time by ``retrieval.train``).

Stored as LightGBM's plain-text model file in the index directory and listed,
with its checksum and the feature names it expects, in the manifest under
``models``. An index without it is served with the hand-set fusion.
"""
from __future__ import annotations

import numpy as np

from indexer.store import Index, IndexLoadError

from .features import CANDIDATE_FEATURES

MODEL_FORMAT = 1
RANKER_FILE = "ranker.lgb.txt"


class ModelLoadError(IndexLoadError):
    """The index's model files do not fit this code (other features or format): rebuild the index."""


class LearnedRanker:
    def __init__(self, booster):
        self.booster = booster

    @classmethod
    def of_index(cls, index: Index) -> "LearnedRanker | None":
        entry = index.manifest.get("models", {}).get("ranker")
        if not entry:
            return None
        if entry.get("format") != MODEL_FORMAT or tuple(entry.get("features", ())) != CANDIDATE_FEATURES:
            raise ModelLoadError(f"index {index.version}: its learned ranker was trained on other features; "
                                 "rebuild the index (python -m indexer build)")
        import lightgbm  # only indexes that carry a model need it

        return cls(lightgbm.Booster(model_file=str(index.path / RANKER_FILE)))

    def scores(self, matrix: np.ndarray) -> np.ndarray:
        if not len(matrix):
            return np.zeros(0)
        return np.asarray(self.booster.predict(matrix, num_threads=1), dtype=np.float64)
