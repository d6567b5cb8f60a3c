"""Leave-one-out fit of the triage weights (``scoring`` in the triage taxonomy.yaml) on the triage data's labelled
examples — never on eval/triage. Each example is triaged with itself removed from the neighbours and with the
classifier's out-of-fold probabilities (weights fitted without its fold); a small grid of weights is scored by
intent accuracy, emotion macro-F1, urgency accuracy and high's F2 (a missed refund or quality problem costs more
than a false alarm), and the hand-off operating point by the highest recall whose precision stays at or above
HANDOFF_PRECISION. Prints the best values; an editor copies them into taxonomy.yaml."""
from __future__ import annotations

import dataclasses
import itertools
from statistics import mean

import numpy as np

from assist import train
from assist.classifier import softmax
from assist.triage import emotion, handoff, intent, urgency
from assist.model import clean
from indexer.scoring import DIMENSIONS, Scoring
from retrieval import Query

GRID = {
    "intent": {"neighbours": (5, 7, 11), "temperature": (0.01, 0.02, 0.05),
               "example_intent": (1.0, 2.0, 3.0, 4.0), "article_weight": (0.0, 0.75, 1.5, 3.0),
               "classifier_intent": (0.0, 1.0, 2.0)},
    "emotion": {"neutral_prior": (0.5, 1.0, 1.5, 2.0), "example_emotion": (0.0, 1.0, 2.0, 3.0, 4.0),
                "classifier_emotion": (0.0, 1.0, 2.0, 3.0, 4.0)},
    "urgency": {"example_urgency": (0.0, 0.75, 1.5, 3.0), "classifier_urgency": (0.0, 1.0, 2.0)},
    "high": {"high_probability": (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.1)},
    "handoff": {"handoff_probability": (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.1)},
}
CLASSIFIER_L2 = (0.3, 1.0, 3.0)  # chosen by the out-of-fold log-loss of the classifier alone
HANDOFF_PRECISION = 0.9  # the issue asks for >= 0.85; the fit keeps a margin


def _f1(gold: list[str], pred: list[str]) -> float:
    scores = []
    for label in set(gold):
        tp = sum(g == p == label for g, p in zip(gold, pred))
        precision = tp / max(sum(p == label for p in pred), 1)
        recall = tp / max(sum(g == label for g in gold), 1)
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return mean(scores)


def _f2_high(gold: list[str], pred: list[str]) -> float:
    tp = sum(g == p == "high" for g, p in zip(gold, pred))
    precision, recall = tp / max(pred.count("high"), 1), tp / max(gold.count("high"), 1)
    return 5 * precision * recall / (4 * precision + recall) if precision + recall else 0.0


def _at_least(goal: float, bound: float, floor: float) -> float:
    """``goal`` while ``bound`` reaches ``floor`` (e.g. recall at precision >= 0.9); below 0 when it does not,
    then the nearest ``bound`` wins."""
    return goal if bound >= floor else bound - 1.0


def _handoff_score(gold: list[bool], pred: list[bool]) -> float:
    """Recall at precision >= HANDOFF_PRECISION."""
    tp = sum(g and p for g, p in zip(gold, pred))
    precision, recall = tp / max(sum(pred), 1), tp / max(sum(gold), 1)
    return _at_least(recall, precision, HANDOFF_PRECISION)


def oof_probabilities(model, vectors) -> tuple[list[dict], dict]:
    """Each example's classifier probabilities from weights fitted without its fold, at the l2 of the lowest
    out-of-fold log-loss; and that choice."""
    labels = train.labels_of({"taxonomy": model.taxonomy})
    matrix = train.design(model.examples, vectors)
    targets = {dim: [names.index(train.label_of(e, dim)) for e in model.examples] for dim, names in labels.items()}
    best = None
    for l2 in CLASSIFIER_L2:
        scores = train.out_of_fold(matrix, model.examples, labels, l2)
        probs, start, loss = [{} for _ in model.examples], 0, 0.0
        for dim, names in labels.items():
            p = softmax(scores[:, start:start + len(names)])
            loss -= float(np.mean(np.log(p[np.arange(len(p)), targets[dim]] + 1e-9)))
            for row, values in zip(probs, p):
                row[dim] = dict(zip(names, values.tolist()))
            start += len(names)
        if best is None or loss < best[0]:
            best = (loss, l2, probs)
    return best[2], {"classifier_l2": best[1], "out_of_fold_log_loss": round(best[0], 4)}


def _scoring(base: Scoring, values: dict) -> Scoring:
    """``base`` with the grid's values: ``example_<dim>`` and ``classifier_<dim>`` name one dimension's weight."""
    changes: dict = {}
    for name, value in values.items():
        for prefix in ("example_", "classifier_"):
            if name.startswith(prefix) and name.removeprefix(prefix) in DIMENSIONS:
                changes.setdefault(prefix + "weight", {})[name.removeprefix(prefix)] = value
                break
        else:
            changes[name] = value
    return base.replace(**changes)


def fit(assistant) -> dict:
    from assist.triage import neighbours

    model = assistant.model
    results = [assistant.searcher.search(Query(e["text"], top_k=5)) for e in model.examples]
    masked = []
    for i in range(len(model.examples)):
        vectors = model.example_vectors.copy()
        vectors[i] = 0.0  # the example itself never votes for itself
        masked.append(vectors)
    gold = {dim: [e[dim] for e in model.examples] for dim in ("intent", "emotion", "urgency")}
    gold["high"] = gold["urgency"]
    gold["handoff"] = [bool(e.get("handoff")) for e in model.examples]
    probs, chosen = oof_probabilities(model, model.example_vectors)
    best_values: dict = {}
    report = {"classifier": chosen}
    for dim, grid in GRID.items():
        best = (-1.0, None)
        for combo in itertools.product(*grid.values()):
            values = dict(zip(grid, combo))
            trial = dataclasses.replace(model, scoring=_scoring(model.scoring, best_values | values))
            pred = []
            for i, example in enumerate(model.examples):
                local = dataclasses.replace(trial, example_vectors=masked[i])
                top, weights = neighbours(local, results[i].vector)
                text = clean(example["text"])
                if dim == "intent":
                    pred.append(intent(local, text, "", results[i], top, weights, probs[i]).label)
                elif dim == "emotion":
                    pred.append(emotion(local, text, top, weights, (), probs[i])[0].label)
                elif dim == "handoff":
                    pred.append(handoff(local, text, 1, [], probs[i])[0])
                else:
                    found = intent(local, text, "", results[i], top, weights, probs[i])
                    pred.append(urgency(local, text, found, (), top, weights, (), probs[i])[0].label)
            score = _f1(gold[dim], pred) if dim == "emotion" else _f2_high(gold[dim], pred) if dim == "high" \
                else _handoff_score(gold[dim], pred) if dim == "handoff" else float(np.mean(np.array(gold[dim]) == pred))
            if score > best[0]:
                best = (score, values)
        best_values |= best[1]
        metric = {"emotion": "macro-F1", "high": "F2 of high", "handoff": f"recall at precision >= {HANDOFF_PRECISION}"}
        report[dim] = {"score": round(best[0], 3), "metric": metric.get(dim, "accuracy"), "values": best[1]}
    return report


# The classifier's operating points, fitted on the totals of eval/triage_train/check.jsonl (messages written for
# fitting, with conversations, none of them an example): on the examples the cue lexicons were written from, cues
# look perfect and the classifier never seems needed. One parameter group at a time, each by its own objective.
CHECK_GRID = {
    "intent": {"classifier_intent": (0.0, 0.5, 1.0, 2.0)},
    "emotion": {"classifier_emotion": (0.0, 1.0, 2.0, 3.0, 4.0)},
    "high": {"high_probability": (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8, 1.1)},
    "handoff": {"handoff_probability": (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.1)},
}
# urgency high: the issue asks for recall >= 0.90; a false "urgent" chip costs agents too (F2 chose P 0.65 on
# eval/triage in the third pass), so the fit takes the best precision among the points whose check.jsonl recall
# reaches that target.
HIGH_RECALL = 0.90


def _check_objective(dim: str, totals: dict) -> float:
    if dim == "intent":
        return totals["intent"]["accuracy"]
    if dim == "emotion":
        return mean(s["f1"] for s in totals["emotion"]["labels"].values())
    if dim == "high":  # precision at recall >= HIGH_RECALL, else below 0 (then the best recall wins)
        high = totals["urgency"]["labels"]["high"]
        return _at_least(high["precision"], high["recall"], HIGH_RECALL)
    h = totals["handoff"]  # recall at precision >= HANDOFF_PRECISION; on a tie, the fewer false hand-offs
    return _at_least(h["recall"] + h["precision"] / 1000, h["precision"], HANDOFF_PRECISION)


def _headline(dim: str, totals: dict) -> dict:
    """The totals a grid point is judged by, shown beside its score so a reader sees the trade-off."""
    if dim == "high":
        high = totals["urgency"]["labels"]["high"]
        return {"precision": high["precision"], "recall": high["recall"]}
    if dim == "handoff":
        return {"precision": totals["handoff"]["precision"], "recall": totals["handoff"]["recall"]}
    if dim == "intent":
        return {"accuracy": totals["intent"]["accuracy"]}
    return {"angry_f1": totals["headline"]["angry_f1"], "accuracy": totals["emotion"]["accuracy"]}


def fit_check(assistant, items: list[dict], score_messages) -> dict:
    """Grid over CHECK_GRID, each value scored by the check set's totals (``score_messages``, eval.triage's
    scorer); no item is looked at."""
    search, memo = assistant.searcher.search, {}

    def cached(query, deadline=None):
        key = (query.text, query.top_k)
        if key not in memo:
            memo[key] = search(query, deadline=deadline)
        return memo[key]

    assistant.searcher.search = cached
    model, best_values, report = assistant.model, {}, {}
    try:
        for dim, grid in CHECK_GRID.items():
            best, tried = (-2.0, None), []
            for combo in itertools.product(*grid.values()):
                values = dict(zip(grid, combo))
                assistant.model = dataclasses.replace(model, scoring=_scoring(model.scoring, best_values | values))
                totals = score_messages(assistant, items)
                score = _check_objective(dim, totals)
                tried.append({**values, "score": round(score, 3), **_headline(dim, totals)})
                if score > best[0]:
                    best = (score, values)
            best_values |= best[1]
            report[dim] = {"score": round(best[0], 3), "values": best[1], "tried": tried}
    finally:
        assistant.searcher.search, assistant.model = search, model
    return report
