"""Leave-one-out fit of the triage weights (``scoring`` in kb/_assist/taxonomy.yaml) on the KB's own labelled
examples — never on eval/triage. Each example is triaged with itself removed from the neighbours; a small grid
of weights is scored by intent accuracy, emotion macro-F1 and urgency accuracy. Prints the best values; an editor
copies them into taxonomy.yaml."""
from __future__ import annotations

import dataclasses
import itertools
from statistics import mean

import numpy as np

from assist.triage import emotion, intent, urgency
from assist.model import clean
from retrieval import Query

GRID = {
    "intent": {"neighbours": (5, 7, 11), "temperature": (0.01, 0.02, 0.05),
               "example_intent": (1.0, 2.0, 3.0, 4.0), "article_weight": (0.0, 0.75, 1.5, 3.0)},
    "emotion": {"neutral_prior": (0.5, 1.0, 1.5, 2.0), "example_emotion": (0.0, 1.0, 2.0, 3.0, 4.0)},
    "urgency": {"example_urgency": (0.0, 0.75, 1.5, 3.0)},
}


def _f1(gold: list[str], pred: list[str]) -> float:
    scores = []
    for label in set(gold):
        tp = sum(g == p == label for g, p in zip(gold, pred))
        precision = tp / max(sum(p == label for p in pred), 1)
        recall = tp / max(sum(g == label for g in gold), 1)
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return mean(scores)


def _scoring(base: dict, values: dict) -> dict:
    scoring = {**base, "example_weight": dict(base.get("example_weight", {}))}
    for name, value in values.items():
        if name.startswith("example_"):
            scoring["example_weight"][name.removeprefix("example_")] = value
        else:
            scoring[name] = value
    return scoring


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
    best_values: dict = {}
    report = {}
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
                    pred.append(intent(local, text, "", results[i], top, weights).label)
                elif dim == "emotion":
                    pred.append(emotion(local, text, top, weights)[0].label)
                else:
                    found = intent(local, text, "", results[i], top, weights)
                    pred.append(urgency(local, text, found, False, top, weights)[0].label)
            score = _f1(gold[dim], pred) if dim == "emotion" else float(np.mean(np.array(gold[dim]) == pred))
            if score > best[0]:
                best = (score, values)
        best_values |= best[1]
        report[dim] = {"score": round(best[0], 3), "metric": "macro-F1" if dim == "emotion" else "accuracy",
                       "values": best[1]}
    return report
