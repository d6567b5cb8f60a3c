"""Rebuilds as editors run them: the previous version's models are reused when retraining would learn
(nearly) the same, the embedder is not loaded when nothing needs embedding, and progress is readable."""
import json
import shutil

import pytest

from core import config as cfg
from indexer.build import build
from indexer.embed import HashEmbedder
from indexer.store import load_index, read_manifest, resolve
from retrieval.model import RANKER_FILE
from retrieval.train import trainers_for
from tests.helpers import ROOT


class FakeTrainer:
    """Writes one file and counts its calls: the reuse policy without LightGBM's seconds."""

    fingerprint = "fake-1"

    def __init__(self):
        self.calls = 0

    def __call__(self, index, directory):
        self.calls += 1
        (directory / "fake.txt").write_text(f"model of {len(index.chunks)} chunks\n", encoding="utf-8")
        return {"files": ["fake.txt"]}


def _edit(kb, name="物流/shipping-time.md", old="48小时", new="24小时"):
    article = kb / name
    article.write_text(article.read_text("utf-8").replace(old, new), encoding="utf-8")


def test_the_model_is_reused_within_the_drift_budget_and_retrained_past_it(kb_copy, tmp_path, config):
    root, trainer = tmp_path / "index", FakeTrainer()
    first = build(kb_copy, root, HashEmbedder(), config, trainers={"fake": trainer})
    assert trainer.calls == 1 and first.models["fake"]["trained_on"]["version"] == first.version

    same = build(kb_copy, root, HashEmbedder(), config, trainers={"fake": trainer})
    assert trainer.calls == 1 and same.models["fake"]["reused_from"] == first.version
    assert "reused fake from" in same.summary()
    assert load_index(root).version == same.version, "the copied file passes the loader's checksums"

    _edit(kb_copy)  # 1 article of 6 changed: within a budget of 0.2, past one of 0.1
    loose = build(kb_copy, root, HashEmbedder(), config.replace(model_reuse_max_drift=0.2), trainers={"fake": trainer})
    assert trainer.calls == 1 and loose.models["fake"]["articles_changed_since_training"] == 1
    assert loose.models["fake"]["trained_on"]["version"] == first.version, "drift counts from the training"
    strict = build(kb_copy, root, HashEmbedder(), config.replace(model_reuse_max_drift=0.1), trainers={"fake": trainer})
    assert trainer.calls == 2 and "reused_from" not in strict.models["fake"]

    build(kb_copy, root, HashEmbedder(), config, full=True, trainers={"fake": trainer})
    assert trainer.calls == 3, "--full always retrains"
    other = FakeTrainer()
    other.fingerprint = "fake-2"
    build(kb_copy, root, HashEmbedder(), config, trainers={"fake": other})
    assert other.calls == 1, "other trainer code or settings: retrained"


def test_a_damaged_previous_model_is_not_reused(kb_copy, tmp_path, config):
    root, trainer = tmp_path / "index", FakeTrainer()
    first = build(kb_copy, root, HashEmbedder(), config, trainers={"fake": trainer})
    (first.path / "fake.txt").write_text("damaged\n", encoding="utf-8")
    build(kb_copy, root, HashEmbedder(), config, trainers={"fake": trainer})
    assert trainer.calls == 2


def test_a_reused_ranker_is_byte_identical_to_retraining(tmp_path):
    """Nothing changed: training is deterministic, so the reused file is exactly what training writes."""
    config = cfg.load({"embedder": "hash"}, environ={})
    kb, root = tmp_path / "kb", tmp_path / "index"
    shutil.copytree(ROOT / "kb", kb)
    trained = build(kb, root, HashEmbedder(), config, trainers=trainers_for(config))
    reused = build(kb, root, HashEmbedder(), config, trainers=trainers_for(config))
    entry = read_manifest(resolve(root))["models"]["ranker"]
    assert entry["reused_from"] == trained.version and reused.training_seconds < 0.5
    assert (reused.path / RANKER_FILE).read_bytes() == (trained.path / RANKER_FILE).read_bytes()
    again = build(kb, tmp_path / "fresh", HashEmbedder(), config, trainers=trainers_for(config))
    assert (again.path / RANKER_FILE).read_bytes() == (reused.path / RANKER_FILE).read_bytes()
    assert json.loads((reused.path / "manifest.json").read_text("utf-8"))["files"][RANKER_FILE] == \
        json.loads((trained.path / "manifest.json").read_text("utf-8"))["files"][RANKER_FILE]
