"""Fusion of ranked lists: reciprocal-rank (default) or weighted scores. The one RRF in the code base."""
from __future__ import annotations

from typing import Hashable, Mapping, Sequence, TypeVar

from core.arms import ARMS
from core.config import Config

from .types import ArmRanking, Query, QueryError

Key = TypeVar("Key", bound=Hashable)
METHODS = ("rrf", "weighted")


def rrf(rankings: Mapping[str, Sequence[Key]], weights: Mapping[str, float], k: float) -> dict[Key, float]:
    """score(a) = Σ_list weight_list / (k + rank_list(a)), ranks starting at 1."""
    fused: dict[Key, float] = {}
    for name, ranking in rankings.items():
        weight = weights.get(name, 1.0)
        for rank, key in enumerate(ranking, start=1):
            fused[key] = fused.get(key, 0.0) + weight / (k + rank)
    return fused


def weighted(scores: Mapping[str, Mapping[Key, float]], weights: Mapping[str, float]) -> dict[Key, float]:
    """score(a) = Σ_list weight_list · score_list(a) / max_list: each list scaled to [0, 1] by its best."""
    fused: dict[Key, float] = {}
    for name, by_key in scores.items():
        top = max(by_key.values(), default=0.0)
        if top <= 0:
            continue
        weight = weights.get(name, 1.0)
        for key, value in by_key.items():
            fused[key] = fused.get(key, 0.0) + weight * max(value, 0.0) / top
    return fused


def fuse_arms(arms: Sequence[ArmRanking], query: Query, config: Config) -> dict[str, float]:
    """Articles' fused scores: the configured (or requested) method, the configured weights
    with the request's on top. Weights never change the method."""
    method = query.fusion or config.fusion
    if method not in METHODS:
        raise QueryError(f"unknown fusion {method!r}; use {', '.join(METHODS)}")
    unknown = set(query.weights or {}) - set(ARMS)
    if unknown:
        raise QueryError(f"unknown weight(s) {sorted(unknown)}; use {', '.join(ARMS)}")
    weights = config.arm_weights() | dict(query.weights or {})
    if arms and not any(weights.get(a.arm, 1.0) for a in arms):  # every score 0: an ended article could come first
        raise QueryError(f"every arm searched ({', '.join(a.arm for a in arms)}) has weight 0: nothing would rank "
                         "the articles")
    if method == "weighted":
        return weighted({a.arm: a.scores for a in arms}, weights)
    return rrf({a.arm: a.ranking for a in arms}, weights, config.rrf_k)
