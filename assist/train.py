"""Build-time training of the triage classifier (``assist.classifier``) on the KB's labelled examples
(``_assist/examples.yaml``): their vectors are already in the index, so training embeds nothing. A multinomial
logistic regression per dimension (L2, scipy's L-BFGS from zeros: deterministic), about a second."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from core import sources
from core.config import Config
from indexer.scoring import Scoring
from indexer.store import Index
from retrieval.train import ranker_trainers

from .classifier import BUCKETS, DIMENSIONS, FORMAT, NGRAMS, NO_HANDOFF, WEIGHTS_FILE, features
from .model import clean

MIN_EXAMPLES = 20  # fewer labelled examples than this: nothing to learn, the triage runs on cues and neighbours
FOLDS = 5


def label_of(example: dict, dim: str) -> str:
    return (example.get(dim) or NO_HANDOFF) if dim == "handoff" else example[dim]


def design(examples, vectors: np.ndarray) -> np.ndarray:
    return np.vstack([features(clean(e["text"]), v) for e, v in zip(examples, vectors)])


def fit(matrix: np.ndarray, targets: list[np.ndarray], classes: list[int], l2: float) -> np.ndarray:
    """Weights (features, Σ classes): one softmax per target, side by side, each minimising its mean log-loss plus
    l2/2n·|W|² (the last row, the bias, unpenalised). The parts are independent, so one L-BFGS run minimises them
    all. With fewer examples than features it runs in the rows' span: from zeros, every gradient and so every
    iterate lies there, and an orthonormal basis keeps every inner product, so the steps are the same — on an
    (examples × examples) problem instead of (examples × features)."""
    import scipy.optimize  # noqa: F401 - loads scipy's own BLAS before the limit below, so that it is limited too
    from threadpoolctl import threadpool_limits

    x = np.asarray(matrix, dtype=np.float64)
    # one BLAS thread: these products are small, and threads that wait for a busy core cost seconds (on a loaded
    # 2-core machine the same training took 0.8 s with one thread and 4-13 s with two)
    with threadpool_limits(1, user_api="blas"):
        if x.shape[0] >= x.shape[1] - 1:
            return _minimise(x, targets, classes, l2).astype(np.float32)
        _, _, basis = np.linalg.svd(x[:, :-1], full_matrices=False)  # (examples, features - 1), orthonormal rows
        weights = _minimise(np.hstack([x[:, :-1] @ basis.T, x[:, -1:]]), targets, classes, l2)
    return np.vstack([basis.T @ weights[:-1], weights[-1:]]).astype(np.float32)


def _minimise(x: np.ndarray, targets: list[np.ndarray], classes: list[int], l2: float) -> np.ndarray:
    from scipy.optimize import minimize

    n, d = x.shape
    onehot = np.hstack([np.eye(c)[t] for c, t in zip(classes, targets)])
    parts = list(zip(np.cumsum([0, *classes[:-1]]), np.cumsum(classes)))
    penalty = np.ones((d, 1))
    penalty[-1] = 0.0

    def loss(flat):
        weights = flat.reshape(d, onehot.shape[1])
        scores = x @ weights
        value = 0.5 * l2 * (penalty * weights ** 2).sum() / n
        residual = np.empty_like(scores)
        for a, b in parts:
            part = scores[:, a:b] - scores[:, a:b].max(axis=1, keepdims=True)
            logp = part - np.log(np.exp(part).sum(axis=1, keepdims=True))
            value -= (logp * onehot[:, a:b]).sum() / n
            residual[:, a:b] = np.exp(logp) - onehot[:, a:b]
        grad = x.T @ residual / n + l2 * penalty * weights / n
        return value, grad.ravel()

    found = minimize(loss, np.zeros(d * onehot.shape[1]), jac=True, method="L-BFGS-B",
                     options={"maxiter": 500 * len(classes)})
    return found.x.reshape(d, onehot.shape[1])


def fit_all(matrix: np.ndarray, examples, labels: dict[str, tuple[str, ...]], l2: float) -> np.ndarray:
    """The weights of every dimension side by side (the order of ``labels``)."""
    targets = [np.array([names.index(label_of(e, dim)) for e in examples]) for dim, names in labels.items()]
    return fit(matrix, targets, [len(names) for names in labels.values()], l2)


def labels_of(assist: dict) -> dict[str, tuple[str, ...]]:
    taxonomy = assist["taxonomy"]
    return {"intent": tuple(i["label"] for i in taxonomy["intents"]),
            "urgency": tuple(taxonomy["urgency"]["levels"]), "emotion": tuple(taxonomy["emotions"]),
            "handoff": (NO_HANDOFF, *taxonomy["handoff"]["reasons"])}


def out_of_fold(matrix: np.ndarray, examples, labels, l2: float, folds: int = FOLDS) -> np.ndarray:
    """Each example's scores from weights fitted without its fold (every ``folds``-th example): what the
    triage weights are fitted on (eval.triage_fit), never in-sample probabilities."""
    scores = np.zeros((len(examples), sum(map(len, labels.values()))), dtype=np.float32)
    fold = np.arange(len(examples)) % folds
    for k in range(folds):
        rest = fold != k
        weights = fit_all(matrix[rest], [e for e, r in zip(examples, rest) if r], labels, l2)
        scores[~rest] = matrix[~rest] @ weights
    return scores


def train(index: Index, directory: Path) -> dict:
    """Fit on the index's triage examples, write the weights into ``directory`` and return the manifest entry;
    {} when the KB has no triage data or too few examples."""
    if index.assist is None or len(index.assist["examples"]) < MIN_EXAMPLES:
        return {}
    examples = index.assist["examples"]
    labels = labels_of(index.assist)
    l2 = Scoring.of_index(index.assist["taxonomy"].get("scoring") or {}).classifier_l2
    np.save(directory / WEIGHTS_FILE, fit_all(design(examples, index.assist_vectors), examples, labels, l2))
    return {"format": FORMAT, "files": [WEIGHTS_FILE], "labels": {k: list(v) for k, v in labels.items()},
            "layout": {"ngrams": list(NGRAMS), "buckets": BUCKETS}, "training": {"examples": len(examples), "l2": l2}}


class TriageTrainer:
    """The build's trainer for the classifier. It learns from the _assist data, not the articles: a rebuild
    reuses the published classifier while that data is unchanged (``data_hash``), so an article edit does not
    pay the second of training."""

    def __init__(self, config: Config):
        self.fingerprint = sources.fingerprint((__name__,), json.dumps(DIMENSIONS))  # its code and all it imports

    @staticmethod
    def data_hash(parsed) -> str:
        """Of the examples and the taxonomy (labels, classifier_l2): everything the classifier learns from."""
        assist = parsed.assist or {}
        data = {"examples": assist.get("examples"), "taxonomy": assist.get("taxonomy")}
        return hashlib.sha256(json.dumps(data, ensure_ascii=False, sort_keys=True, default=str).encode()).hexdigest()

    def __call__(self, index: Index, directory: Path) -> dict:
        return train(index, directory)


def trainers_for(config: Config) -> dict:
    """Every model a served index carries: the learned ranker (retrieval.train) and the triage classifier."""
    return {**ranker_trainers(config), "triage": TriageTrainer(config)}
