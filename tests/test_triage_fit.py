"""The objectives --fit-check judges the classifier's operating points by (eval.triage_fit): urgency high takes the
best precision among points that keep recall at the target, hand-off the best recall at precision >= 0.9 with
ties going to the fewer false hand-offs."""
from eval.triage_fit import HANDOFF_PRECISION, HIGH_RECALL, _check_objective


def _totals(high_p=0.0, high_r=0.0, hand_p=0.0, hand_r=0.0) -> dict:
    return {"urgency": {"labels": {"high": {"precision": high_p, "recall": high_r}}},
            "handoff": {"precision": hand_p, "recall": hand_r}}


def test_high_prefers_precision_once_recall_reaches_the_target():
    loose = _check_objective("high", _totals(high_p=0.78, high_r=0.95))
    tight = _check_objective("high", _totals(high_p=0.82, high_r=HIGH_RECALL))
    assert tight > loose


def test_high_below_the_recall_target_loses_to_any_point_above_it():
    below = _check_objective("high", _totals(high_p=0.99, high_r=HIGH_RECALL - 0.01))
    above = _check_objective("high", _totals(high_p=0.5, high_r=HIGH_RECALL))
    assert above > below
    assert below > _check_objective("high", _totals(high_p=0.99, high_r=0.8))  # below it, the better recall wins


def test_handoff_ties_on_recall_go_to_the_better_precision():
    low = _check_objective("handoff", _totals(hand_p=HANDOFF_PRECISION, hand_r=0.97))
    high = _check_objective("handoff", _totals(hand_p=0.97, hand_r=0.97))
    more_recall = _check_objective("handoff", _totals(hand_p=HANDOFF_PRECISION, hand_r=1.0))
    assert low < high < more_recall
    assert _check_objective("handoff", _totals(hand_p=HANDOFF_PRECISION - 0.01, hand_r=1.0)) < 0
