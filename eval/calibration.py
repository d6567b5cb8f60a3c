"""Fitting the confidence model on labeled questions, and measuring it out of fold.

The model is ``retrieval.confidence``: p = sigmoid(bias + w · signals), the
probability that the suggestions hold the answer (the question is answerable
and a right article is among the top 3). Here it is fitted (logistic
regression, a little L2) and its threshold chosen so that at most
``max_false_abstain`` of answerable questions fall below it. ``cross_validate``
does both on K-1 folds and applies them to the held-out fold, so the figures it
reports were never seen by the numbers that produced them.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from retrieval.confidence import SIGNALS, probability


@dataclass(frozen=True)
class Fitted:
    bias: float
    weights: tuple[float, ...]
    threshold: float

    def settings(self) -> dict[str, float]:
        """As the settings that ``retrieval.confidence`` reads."""
        return {"confidence_bias": round(self.bias, 3),
                **{f"confidence_weight_{name}": round(w, 3) for name, w in zip(SIGNALS, self.weights)},
                "confidence_threshold": round(self.threshold, 4)}


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-3, iterations: int = 100) -> tuple[float, np.ndarray]:
    """Newton's method on the L2-penalised log loss, on standardised signals (so the penalty treats them
    alike; the bias is not penalised); returns the bias and weights for the raw signals."""
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    design = np.column_stack([np.ones(len(x)), (x - mean) / scale])
    beta = np.zeros(design.shape[1])
    penalty = np.diag([0.0] + [l2 * len(x)] * x.shape[1])
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-np.clip(design @ beta, -50, 50)))
        gradient = design.T @ (p - y) + penalty @ beta
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + penalty + 1e-9 * np.eye(len(beta))
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    weights = beta[1:] / scale
    return float(beta[0] - (weights * mean).sum()), weights


def threshold_for(probabilities: np.ndarray, answerable: np.ndarray, max_false_abstain: float) -> float:
    """The highest threshold that leaves at most ``max_false_abstain`` of answerable questions below it."""
    scores = np.sort(probabilities[answerable])
    if not len(scores):
        return 0.5
    allowed = int(max_false_abstain * len(scores))  # this many may fall below
    return float(scores[allowed])


def fit(signals: np.ndarray, answered: np.ndarray, answerable: np.ndarray, max_false_abstain: float,
        asked: np.ndarray | None = None) -> Fitted:
    """``asked`` marks the rows that are real questions (the rest: added negatives such as the category
    hold-out). The weights learn from all rows; the intercept is then shifted back to the asked rows'
    share of answered questions (a prior-shift correction), so the probability is one for real traffic."""
    bias, weights = fit_logistic(signals, answered.astype(float))
    if asked is not None and not asked.all():
        bias += _log_odds(answered[asked].mean()) - _log_odds(answered.mean())
    fitted = Fitted(bias, tuple(float(w) for w in weights), 0.5)
    p = predict(fitted, signals)
    return Fitted(bias, fitted.weights, threshold_for(p, answerable, max_false_abstain))


def _log_odds(share: float) -> float:
    share = min(max(float(share), 1e-3), 1 - 1e-3)
    return float(np.log(share / (1 - share)))


def predict(fitted: Fitted, signals: np.ndarray) -> np.ndarray:
    return np.array([probability(tuple(row), fitted.bias, fitted.weights) for row in signals])


def fold_of(question: str, folds: int) -> int:
    """A fixed fold per question text: the same split on every run and machine."""
    return zlib.crc32(question.encode("utf-8")) % folds


def cross_validate(questions: list[str], signals: np.ndarray, answered: np.ndarray, answerable: np.ndarray,
                   folds: int, max_false_abstain: float, asked: np.ndarray | None = None) -> np.ndarray:
    """Out-of-fold 'confident' flags: each fold judged by a model fitted on the others."""
    fold = np.array([fold_of(q, folds) for q in questions])
    confident = np.zeros(len(questions), dtype=bool)
    for k in range(folds):
        held = fold == k
        if not held.any() or held.all():
            continue
        fitted = fit(signals[~held], answered[~held], answerable[~held], max_false_abstain,
                     None if asked is None else asked[~held])
        confident[held] = predict(fitted, signals[held]) >= fitted.threshold
    return confident
