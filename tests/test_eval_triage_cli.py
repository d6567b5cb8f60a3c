"""eval.triage's choice of follow-ups: scoring a training set's check file must not also score the measuring set."""
from eval.triage import TRIAGE_DIR, followups_for
from tests.helpers import ROOT


def test_follow_ups_are_scored_only_beside_the_measuring_messages_unless_given():
    assert followups_for(TRIAGE_DIR / "messages.jsonl", None) == TRIAGE_DIR / "followups.jsonl"
    assert followups_for(ROOT / "eval" / "triage_train" / "check.jsonl", None) is None
    assert str(followups_for(ROOT / "eval" / "triage_train" / "check.jsonl", "mine.jsonl")) == "mine.jsonl"
