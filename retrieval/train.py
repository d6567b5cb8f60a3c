"""Build-time training of the learned ranker, from the KB alone.

No labels from users: each article's ``questions:`` lines are pseudo-queries
for that article (their vectors are already in the index, so training embeds
nothing). While a phrasing is the query it is left out of the questions arm,
or the ranker would only learn to copy. Titles are not used: every chunk's
embedded text starts with its title, so a title query finds itself verbatim
in the dense and BM25 arms and teaches the same copying (on a KB whose only
phrasings are titles, that ranker lost a sixth of its R@5 to the hand-set
fusion). A KB without ``questions:`` keeps the hand-set fusion. The build prints the
ranker's out-of-fold top-1 accuracy on these pseudo-queries (folds by article).
"""
from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.arms import ARMS
from core import sources
from core.config import Config
from indexer.store import Index

from .features import CANDIDATE_FEATURES, Candidates
from .model import MODEL_FORMAT, RANKER_FILE
from .search import Searcher
from .types import Query

FOLDS = 5
MIN_TRAINING_QUERIES = 40  # fewer phrasings than this: too little to learn from, keep the hand-set fusion
# LightGBM's usual small-data settings, not tuned on any eval set:
RANKER_PARAMS = {"objective": "lambdarank", "learning_rate": 0.05, "num_leaves": 15, "min_data_in_leaf": 10,
                 "feature_fraction": 0.9, "lambdarank_truncation_level": 10, "verbosity": -1,
                 "deterministic": True, "num_threads": 1, "seed": 7}
RANKER_ROUNDS = 150


@dataclass(frozen=True)
class PseudoQuery:
    target: str  # the article the phrasing belongs to
    fold: int
    candidates: Candidates

    @property
    def labels(self) -> np.ndarray:
        return np.array([a == self.target for a in self.candidates.ids], dtype=np.float32)


def pseudo_queries(index: Index, config: Config) -> list[PseudoQuery]:
    searcher = Searcher(index, None, config.replace(ranker="rrf"))
    rows = np.array([i for i, p in enumerate(index.phrasings)
                     if p.text != searcher.catalog.articles[p.article_id].title], dtype=np.int64)
    if len(rows) > config.ranker_training_queries:
        rows = np.sort(np.random.default_rng(0).choice(rows, config.ranker_training_queries, replace=False))
    everything = np.ones(len(searcher.catalog.article_ids), dtype=bool)
    out = []
    for row in rows:
        phrasing = index.phrasings[row]
        others = np.ones(len(index.phrasings), dtype=bool)
        others[row] = False
        found = searcher.candidates(Query(phrasing.text), searcher.lexicon.rewrite(phrasing.text),
                                    index.phrasing_vectors[row], ARMS, everything, others)
        query = PseudoQuery(phrasing.article_id, zlib.crc32(phrasing.article_id.encode()) % FOLDS, found)
        if len(query.labels) > 1 and query.labels.any():
            out.append(query)
    return out


def fit_ranker(queries: list[PseudoQuery]):
    import lightgbm

    data = lightgbm.Dataset(np.vstack([q.candidates.matrix for q in queries]),
                            np.concatenate([q.labels for q in queries]), group=[len(q.labels) for q in queries],
                            feature_name=list(CANDIDATE_FEATURES), free_raw_data=True)
    return lightgbm.train(RANKER_PARAMS, data, num_boost_round=RANKER_ROUNDS)


def out_of_fold_top1(queries: list[PseudoQuery]) -> float | None:
    hits = []
    for fold in range(FOLDS):
        held = [q for q in queries if q.fold == fold]
        rest = [q for q in queries if q.fold != fold]
        if held and len(rest) >= MIN_TRAINING_QUERIES // 2:
            model = fit_ranker(rest)
            hits += [q.labels[int(np.argmax(model.predict(q.candidates.matrix, num_threads=1)))] for q in held]
    return round(float(np.mean(hits)), 4) if hits else None


def train(index: Index, config: Config, directory: Path) -> dict:
    """Fit the ranker on the index's pseudo-queries, write it into ``directory`` and return the manifest
    entry (the build checksums the files); {} when the KB has too few phrasings to learn from."""
    queries = pseudo_queries(index, config)
    if len(queries) < MIN_TRAINING_QUERIES:
        return {}
    fit_ranker(queries).save_model(str(directory / RANKER_FILE))
    rrf_top1 = float(np.mean([q.labels[0] for q in queries]))  # candidates come in RRF order
    return {"format": MODEL_FORMAT, "features": list(CANDIDATE_FEATURES), "files": [RANKER_FILE],
            "training": {"pseudo_queries": len(queries), "folds": FOLDS,
                         "out_of_fold_top1": out_of_fold_top1(queries), "rrf_top1": round(rrf_top1, 4)}}


class RankerTrainer:
    """The trainer the build runs (see ``indexer.build.Trainer``); its fingerprint covers the code (this module and
    everything it imports, derived by ``core.sources``) and the settings that shape the models, so a changed
    trainer makes an index stale."""

    SETTINGS = ("ranker_training_queries", "candidates",
                "rrf_k", "weight_dense", "weight_bm25", "weight_questions", "other_product_demotion")

    def __init__(self, config: Config):
        self.config = config
        self.fingerprint = sources.fingerprint((__name__,), json.dumps([getattr(config, s) for s in self.SETTINGS]))

    def __call__(self, index: Index, directory: Path) -> dict:
        return train(index, self.config, directory)


def ranker_trainers(config: Config) -> dict[str, RankerTrainer]:
    """The retrieval layer's trainers: the learned ranker, unless ranker=rrf (``assist.train.trainers_for`` adds the
    triage model: what every build of a served index runs)."""
    return {"ranker": RankerTrainer(config)} if config.ranker == "learned" else {}
