"""The triage classifier the build trains on kb/_assist/examples.yaml (assist.train, assist.classifier): stored as
plain files and listed in the manifest, retrained when its examples change (reused when only articles do), read
at load time, and the three ways its
probabilities enter the triage (emotion score, high without a cue, hand-off) at their taxonomy.yaml thresholds."""
import dataclasses
import shutil

import numpy as np
import pytest

from assist import train
from assist.classifier import WEIGHTS_FILE, Classifier, ClassifierLoadError, features
from assist.model import TriageModel, clean
from assist.triage import emotion, handoff, urgency
from assist.types import Label
from core import config as cfg
from indexer.build import build
from indexer.embed import HashEmbedder
from indexer.parse import parse_kb
from indexer.store import load_index
from tests.helpers import FIXTURES, ROOT, TODAY


def _trainers(config):
    return {"triage": train.TriageTrainer(config)}  # the ranker's training is tested in test_ranker.py


@pytest.fixture(scope="module")
def trained(tmp_path_factory, dictionary_dir):
    """Built once for the module (training takes seconds); the tests only read it."""
    root = tmp_path_factory.mktemp("classifier")
    shutil.copytree(FIXTURES / "kb", root / "kb")
    shutil.copytree(ROOT / "kb" / "_assist", root / "kb" / "_assist")
    config = cfg.load({"embedder": "hash", "dictionary_dir": str(dictionary_dir)}, environ={})
    build(root / "kb", root / "index", HashEmbedder(), config, trainers=_trainers(config))
    return load_index(root / "index", HashEmbedder().id, HashEmbedder().dim)


def test_the_build_stores_the_classifier_as_plain_files_in_the_manifest(trained):
    entry = trained.manifest["models"]["triage"]
    assert entry["files"] == [WEIGHTS_FILE] and WEIGHTS_FILE in trained.manifest["files"]
    weights = np.load(trained.path / WEIGHTS_FILE, allow_pickle=False)
    labels = entry["labels"]
    assert weights.shape == (len(features("x", trained.assist_vectors[0])), sum(map(len, labels.values())))
    assert labels["handoff"][0] == "none" and entry["training"]["examples"] == len(trained.assist["examples"])
    model = TriageModel.of_index(trained)
    probs = model.classifier.probabilities(clean("我要退款"), trained.assist_vectors[0])
    assert set(probs) == {"intent", "urgency", "emotion", "handoff"}
    assert all(abs(sum(p.values()) - 1) < 1e-5 for p in probs.values())
    assert model.classifier.probabilities("x", None) == {}


def test_the_classifier_learns_its_own_examples(trained):
    """In-sample, a fitted softmax reads most of its training examples right (the n-grams alone separate them)."""
    model = TriageModel.of_index(trained)
    right = [model.classifier.probabilities(clean(e["text"]), v)["emotion"] for e, v in
             zip(trained.assist["examples"], trained.assist_vectors)]
    hits = [max(p, key=p.get) == e["emotion"] for p, e in zip(right, trained.assist["examples"])]
    assert np.mean(hits) > 0.9


def test_the_triage_classifier_is_retrained_when_only_the_examples_change(trained, kb_copy, tmp_path, config,
                                                                           hash_embedder):
    shutil.copytree(ROOT / "kb" / "_assist", kb_copy / "_assist")
    build(kb_copy, tmp_path / "index", hash_embedder, config, trainers=_trainers(config))
    examples = kb_copy / "_assist" / "examples.yaml"  # one example of the KB's own, added to the built-in ones
    examples.write_text("examples:\n  - {text: 气死我了 到底管不管, intent: 闲聊/其他, urgency: high, emotion: angry}\n",
                        encoding="utf-8")
    build(kb_copy, tmp_path / "index", hash_embedder, config, trainers=_trainers(config))
    again = load_index(tmp_path / "index", hash_embedder.id, hash_embedder.dim)
    entry = again.manifest["models"]["triage"]
    assert "reused_from" not in entry and entry["training"]["examples"] == len(trained.assist["examples"]) + 1


def test_an_article_edit_reuses_the_classifier_and_pays_no_training(kb_copy, tmp_path, config, hash_embedder):
    shutil.copytree(ROOT / "kb" / "_assist", kb_copy / "_assist")
    first = build(kb_copy, tmp_path / "index", hash_embedder, config, trainers=_trainers(config))
    article = kb_copy / "保质期" / "cream-shelf-life.md"
    article.write_text(article.read_text("utf-8") + "\n开封后请放在阴凉处。\n", encoding="utf-8")
    build(kb_copy, tmp_path / "index", hash_embedder, config, trainers=_trainers(config))
    entry = load_index(tmp_path / "index", hash_embedder.id, hash_embedder.dim).manifest["models"]["triage"]
    assert entry["reused_from"] == first.version


def test_an_index_with_another_feature_layout_is_refused(trained):
    manifest = dict(trained.manifest)
    manifest["models"] = {"triage": {**manifest["models"]["triage"], "layout": {"ngrams": [2], "buckets": 7}}}
    with pytest.raises(ClassifierLoadError):
        Classifier.of_index(dataclasses.replace(trained, manifest=manifest))


def test_out_of_fold_scores_never_come_from_weights_that_saw_the_example():
    """Two examples with the same features but opposite labels: in-sample each is a coin toss; out of fold each
    is read as its twin's label (what the fit must see)."""
    examples = [{"text": "a", "emotion": "angry"}, {"text": "a", "emotion": "neutral"}] * 3
    matrix = np.vstack([np.r_[np.eye(3)[i // 2], 1.0] for i in range(6)]).astype(np.float32)
    labels = {"emotion": ("angry", "neutral")}
    scores = train.out_of_fold(matrix, examples, labels, l2=0.1, folds=2)
    assert (scores.argmax(1) == np.array([1, 0] * 3)).all()


@pytest.fixture
def model(trained):
    return TriageModel.of_index(trained)


def _probs(**dims):
    return {dim: dict(values) for dim, values in dims.items()}


def test_a_confident_classifier_makes_a_cueless_message_high_with_a_reason(model):
    local = dataclasses.replace(model, scoring=model.scoring.replace(high_probability=0.5))
    quality = Label("售后/质量", 1.0)
    empty = np.zeros(0, np.int64), np.zeros(0)
    high = _probs(urgency={"high": 0.8, "normal": 0.1, "low": 0.1})
    label, reasons = urgency(local, clean("这个怎么这样啊"), quality, (), *empty, (), high)
    assert label.label == "high" and reasons == ("quality",)  # the intent's urgency_reason
    assert any(e.signal == "classifier" for e in label.evidence)
    other = Label("闲聊/其他", 1.0)
    assert urgency(local, clean("这个怎么这样啊"), other, (), *empty, (), high)[1] == ("similar",)
    unsure = _probs(urgency={"high": 0.4, "normal": 0.3, "low": 0.3})
    assert urgency(local, clean("这个怎么这样啊"), quality, (), *empty, (), unsure)[0].label != "high"


def test_the_classifiers_emotion_vote_weighs_with_its_weight(model):
    empty = np.zeros(0, np.int64), np.zeros(0)
    angry = _probs(emotion={"angry": 0.9, "anxious": 0.05, "neutral": 0.05, "positive": 0.0})
    off = dataclasses.replace(model, scoring=model.scoring.replace(classifier_weight={"emotion": 0.0}))
    on = dataclasses.replace(model, scoring=model.scoring.replace(classifier_weight={"emotion": 3.0}))
    assert emotion(off, clean("这样也行"), *empty, (), angry)[0].label == "neutral"
    assert emotion(on, clean("这样也行"), *empty, (), angry)[0].label == "angry"


def test_the_classifier_hands_off_above_its_probability_only(model):
    local = dataclasses.replace(model, scoring=model.scoring.replace(handoff_probability=0.5))
    likely = _probs(handoff={"none": 0.3, "risk": 0.1, "complaint": 0.5, "request": 0.1})
    needed, reason, evidence = handoff(local, clean("这事你们看着办"), 1, [], likely)
    assert (needed, reason) == (True, "complaint") and evidence[0].signal == "classifier"
    unlikely = _probs(handoff={"none": 0.6, "risk": 0.1, "complaint": 0.2, "request": 0.1})
    assert handoff(local, clean("这事你们看着办"), 1, [], unlikely)[0] is False


def test_lint_rejects_an_undeclared_urgency_reason(kb_copy):
    shutil.copytree(ROOT / "kb" / "_assist", kb_copy / "_assist")
    taxonomy = kb_copy / "_assist" / "taxonomy.yaml"
    taxonomy.write_text("intents:\n  - {label: 退换货, urgency_reason: money}\nurgency:\n  learned_reason: vibes\n",
                        encoding="utf-8")
    messages = {d.message for d in parse_kb(kb_copy, today=TODAY).errors}
    assert "urgency_reason must be an urgency reason" in messages
    assert "urgency.learned_reason must be an urgency reason" in messages
