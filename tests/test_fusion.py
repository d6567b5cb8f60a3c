"""Fusion and section ranking against hand-computed examples."""
import pytest

from core.config import load
from retrieval.fusion import fuse_arms, rrf, weighted
from retrieval.sections import rank_sections
from retrieval.types import ArmRanking, Query, QueryError


def test_rrf_worked_example():
    # x: rank 1 in a → 1/11; y: rank 2 in a, rank 1 in b (weight 2) → 1/12 + 2/11; z: rank 2 in b → 2/12
    fused = rrf({"a": ["x", "y"], "b": ["y", "z"]}, {"a": 1.0, "b": 2.0}, k=10)
    assert fused == pytest.approx({"x": 1 / 11, "y": 1 / 12 + 2 / 11, "z": 2 / 12})


def test_weighted_scales_each_list_by_its_best():
    # a's best is 2 → x 1.0, y 0.5; b's best is 4 → y 0.5·1.0, z 0; an all-zero list adds nothing
    fused = weighted({"a": {"x": 2.0, "y": 1.0}, "b": {"y": 4.0, "z": 0.0}, "c": {"x": 0.0}},
                     {"a": 1.0, "b": 0.5})
    assert fused == pytest.approx({"x": 1.0, "y": 1.0, "z": 0.0})


ARMS_SEEN = [ArmRanking("dense", ("x", "y"), {"x": 0.9, "y": 0.8}),
             ArmRanking("bm25", ("y",), {"y": 5.0})]


def test_request_weights_change_the_weights_not_the_method():
    config = load({"rrf_k": 10, "weight_dense": 1.0, "weight_bm25": 1.0}, environ={})
    assert fuse_arms(ARMS_SEEN, Query("q"), config) == pytest.approx({"x": 1 / 11, "y": 1 / 12 + 1 / 11})
    assert fuse_arms(ARMS_SEEN, Query("q", weights={"bm25": 3.0}), config) == \
        pytest.approx({"x": 1 / 11, "y": 1 / 12 + 3 / 11})
    assert fuse_arms(ARMS_SEEN, Query("q", fusion="weighted"), config) == \
        pytest.approx({"x": 1.0, "y": 0.8 / 0.9 + 1.0})
    with pytest.raises(QueryError, match="weight"):
        fuse_arms(ARMS_SEEN, Query("q", weights={"sparse": 1.0}), config)
    with pytest.raises(QueryError, match="fusion"):
        fuse_arms(ARMS_SEEN, Query("q", fusion="borda"), config)


def test_sections_rank_by_rrf_of_both_arms_ties_in_document_order():
    # dense ranks 1→1st, 2→2nd, 0→3rd; BM25 ranks 0→1st, 2→2nd, 1→3rd (stable on the 3.0 tie)
    # 0: 1/63 + 1/61; 1: 1/61 + 1/63 (a tie, kept in document order); 2: 1/62 + 1/62 (smaller)
    assert rank_sections([0.1, 0.9, 0.5], [3.0, 0.0, 3.0]) == [0, 1, 2]
    assert rank_sections([0.2], [0.0]) == [0]
