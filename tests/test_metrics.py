"""Metric math against cases worked out by hand."""
import math

import pytest

from eval.metrics import abstention, first_relevant_rank, ndcg_at, percentile, recall_at, reciprocal_rank


def test_recall_at_k():
    ranked = ["a", "b", "c", "d"]
    assert recall_at(ranked, {"c"}, 1) == 0.0
    assert recall_at(ranked, {"c"}, 3) == 1.0
    assert recall_at(ranked, {"b", "x"}, 3) == 0.5
    assert recall_at(ranked, set(), 3) == 0.0


def test_reciprocal_rank_stops_at_k():
    assert reciprocal_rank(["a", "b", "c"], {"b"}, 10) == 0.5
    assert reciprocal_rank(["a", "b", "c"], {"c", "a"}, 10) == 1.0
    assert reciprocal_rank(["a", "b", "c"], {"c"}, 2) == 0.0
    assert first_relevant_rank(["a", "b", "c"], {"c", "b"}, 10) == 2
    assert first_relevant_rank(["a", "b", "c"], {"c"}, 2) is None


def test_ndcg_binary():
    # relevant at ranks 1 and 3 of 2 relevant: (1 + 1/log2(4)) / (1 + 1/log2(3))
    expected = (1 + 0.5) / (1 + 1 / math.log2(3))
    assert ndcg_at(["r1", "x", "r2"], {"r1", "r2"}, 10) == pytest.approx(expected)
    assert ndcg_at(["x", "r"], {"r"}, 10) == pytest.approx(1 / math.log2(3))
    assert ndcg_at(["x"], {"r"}, 10) == 0.0


def test_percentile_interpolates():
    assert percentile([10, 20, 30, 40], 50) == 25
    assert percentile([5], 95) == 5
    assert percentile([1, 2, 3, 4, 5], 95) == pytest.approx(4.8)
    assert percentile([], 50) == 0.0


def test_abstention():
    # questions:      no-ans no-ans no-ans answ  answ  answ  answ
    no_answer = [True, True, True, False, False, False, False]
    abstained = [True, True, False, True, False, False, False]
    assert abstention(no_answer, abstained) == {
        "abstain_precision": pytest.approx(2 / 3),
        "abstain_recall": pytest.approx(2 / 3),
        "false_abstain_rate": pytest.approx(1 / 4),
    }
