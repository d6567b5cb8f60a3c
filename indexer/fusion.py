"""Fusion of the retrieval arms' article rankings: reciprocal-rank (default) or weighted scores."""
from __future__ import annotations

from typing import Mapping, Sequence


def rrf(rankings: Mapping[str, Sequence[str]], weights: Mapping[str, float], k: int) -> dict[str, float]:
    """score(a) = Σ_arm weight_arm / (k + rank_arm(a)), ranks starting at 1."""
    fused: dict[str, float] = {}
    for arm, ranking in rankings.items():
        weight = weights.get(arm, 1.0)
        for rank, key in enumerate(ranking, start=1):
            fused[key] = fused.get(key, 0.0) + weight / (k + rank)
    return fused


def weighted(scores: Mapping[str, Mapping[str, float]], weights: Mapping[str, float]) -> dict[str, float]:
    """score(a) = Σ_arm weight_arm · score_arm(a) / max_arm: each arm scaled to [0, 1] by its best."""
    fused: dict[str, float] = {}
    for arm, by_key in scores.items():
        top = max(by_key.values(), default=0.0)
        if top <= 0:
            continue
        weight = weights.get(arm, 1.0)
        for key, value in by_key.items():
            fused[key] = fused.get(key, 0.0) + weight * max(value, 0.0) / top
    return fused
