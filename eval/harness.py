"""Runs labeled questions through the very Searcher the server uses, and scores the outcome."""
from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from pathlib import Path
from statistics import mean
from typing import Iterable

from core.arms import ARMS, BM25, DENSE, QUESTIONS
from core.config import Config
from indexer.build import build, is_current
from indexer.embed import Embedder
from indexer.parse import parse_kb
from retrieval import Query, QueryEncoder, SearchResult, Searcher, confidence
from assist.train import trainers_for
from indexer.store import IndexLoadError, load_index, read_manifest, resolve

from . import calibration, metrics

K = 10
RECALL_KS = (1, 3, 5)
# Metric names, declared once for the report, the diff, the history and the chart:
RANKING_METRICS = tuple(f"recall@{k}" for k in RECALL_KS) + (f"mrr@{K}", f"ndcg@{K}")
HEADLINE_METRICS = ("recall@1", "recall@3", f"mrr@{K}", f"ndcg@{K}")
ABSTENTION_HEADLINE = ("abstain_recall", "false_abstain_rate")
MAX_FALSE_ABSTAIN = 0.03  # the stated rate the confidence threshold is chosen for
# The arm sets --compare runs, by the name the reports use. All three arms are ranked by the index's
# learned model when it has one; "hybrid-rrf" forces the hand-set fusion, the baseline it replaces.
ARM_SETS: dict[str, tuple[str, ...]] = {
    "hybrid": ARMS,
    "hybrid-rrf": ARMS,
    BM25: (BM25,),
    DENSE: (DENSE,),
    QUESTIONS: (QUESTIONS,),
    "hybrid-no-questions": (DENSE, BM25),
}
FORCED_FUSION = {"hybrid-rrf": "rrf"}


class QuestionSetError(ValueError):
    """A question file line is malformed."""


@dataclass(frozen=True)
class Question:
    q: str
    relevant: tuple[str, ...]
    type: str = "untyped"


@dataclass(frozen=True)
class Outcome:
    question: Question
    ranked: tuple[str, ...]
    confident: bool
    confidence: float
    took_ms: float
    signals: tuple[float, ...] = ()  # the confidence model's inputs (retrieval.confidence.SIGNALS)
    vetoed: bool = False  # never confident, whatever the model (retrieval.confidence.veto)

    @classmethod
    def of(cls, question: Question, result: SearchResult) -> "Outcome":
        return cls(question, tuple(s.article_id for s in result.suggestions), result.confident,
                   result.confidence, result.took_ms, tuple(result.signals.values()),
                   result.unconfident_reason not in (None, confidence.BELOW_THRESHOLD))


def load_questions(path: Path, known_ids: Iterable[str] | None = None) -> list[Question]:
    known = set(known_ids) if known_ids is not None else None
    questions = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            question = Question(str(row["q"]), tuple(str(r) for r in row.get("relevant", [])),
                                str(row.get("type") or "untyped"))
        except (ValueError, KeyError, TypeError) as exc:
            raise QuestionSetError(f"{path}:{number}: bad question line: {exc}") from None
        if known is not None and set(question.relevant) - known:
            missing = ", ".join(sorted(set(question.relevant) - known))
            raise QuestionSetError(f"{path}:{number}: relevant id(s) not in the KB: {missing}")
        questions.append(question)
    return questions


def prepare_index(kb: Path, root: Path, embedder: Embedder, config: Config):
    """Reuse the published index when it was built from this very KB, embedder, chunking and indexing
    code; else (re)build (cheap: unchanged texts keep their cached embeddings)."""
    parsed = parse_kb(kb)
    trainers = trainers_for(config)
    try:
        if is_current(read_manifest(resolve(root)), parsed, embedder, config, trainers):
            return load_index(root, embedder.id, embedder.dim)
    except IndexLoadError:
        pass
    build(kb, root, embedder, config, parsed=parsed, trainers=trainers)
    return load_index(root, embedder.id, embedder.dim)


def run(searcher: Searcher, questions: list[Question], arms: tuple[str, ...] | None = None,
        fusion: str | None = None) -> list[Outcome]:
    searcher.encoder.cache_clear()  # each configuration pays its own query embeddings
    outcomes = []
    for question in questions:
        outcomes.append(Outcome.of(question, searcher.search(Query(question.q, top_k=K, arms=arms, fusion=fusion))))
    return outcomes


def category_holdout(searcher: Searcher, questions: list[Question]) -> list[Outcome]:
    """Each answerable question asked again with its article's whole category hidden: a question the KB
    cannot answer, though it is about the shop and shares its words — the kind a new shop's out-of-scope
    questions are, and a labeled set has few of."""
    outcomes = []
    for question in questions:
        categories = {searcher.articles[a].category for a in question.relevant}
        if len(categories) != 1:
            continue
        result = searcher.search(Query(question.q, top_k=K, hidden_categories=tuple(categories)))
        outcomes.append(Outcome.of(Question(question.q, (), "category_holdout"), result))
    return outcomes


def _ranking_metrics(outcomes: list[Outcome]) -> dict[str, float]:
    answerable = [o for o in outcomes if o.question.relevant]
    if not answerable:
        return {}
    scores = defaultdict(list)
    for o in answerable:
        relevant = set(o.question.relevant)
        for k in RECALL_KS:
            scores[f"recall@{k}"].append(metrics.recall_at(o.ranked, relevant, k))
        scores[f"mrr@{K}"].append(metrics.reciprocal_rank(o.ranked, relevant, K))
        scores[f"ndcg@{K}"].append(metrics.ndcg_at(o.ranked, relevant, K))
    return {name: round(mean(values), 4) for name, values in scores.items()} | {"n": len(answerable)}


def summarize(outcomes: list[Outcome], categories: dict[str, str], max_failures: int = 50) -> dict:
    """Overall, by type and by category metrics, abstention, latency and failures."""
    by_type: dict[str, list[Outcome]] = defaultdict(list)
    by_category: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        by_type[o.question.type].append(o)
        if o.question.relevant:
            by_category[categories.get(o.question.relevant[0], "?")].append(o)
    latencies = [o.took_ms for o in outcomes]
    failures = []
    for o in outcomes:
        relevant = set(o.question.relevant)
        if relevant and not set(o.ranked[:3]) & relevant:
            failures.append({"q": o.question.q, "type": o.question.type, "expected": sorted(relevant),
                             "got": list(o.ranked[:3]), "confident": o.confident})
        elif not relevant and o.confident:
            failures.append({"q": o.question.q, "type": o.question.type, "expected": ["(no answer)"],
                             "got": list(o.ranked[:3]), "confident": True})
    return {
        "questions": len(outcomes),
        "answerable": sum(1 for o in outcomes if o.question.relevant),
        "no_answer": sum(1 for o in outcomes if not o.question.relevant),
        "overall": _ranking_metrics(outcomes),
        "abstention": {k: round(v, 4) for k, v in metrics.abstention(
            [not o.question.relevant for o in outcomes], [not o.confident for o in outcomes]).items()},
        "latency_ms": {"p50": round(metrics.percentile(latencies, 50), 2),
                       "p95": round(metrics.percentile(latencies, 95), 2)},
        "by_type": {t: _ranking_metrics(os) | {"abstain_rate": round(mean(not o.confident for o in os), 4)}
                    for t, os in sorted(by_type.items())},
        "by_category": {c: _ranking_metrics(os) for c, os in sorted(by_category.items())},
        "failures": failures[:max_failures],
        "failure_count": len(failures),
        "per_question": [{"q": o.question.q, "answerable": bool(o.question.relevant),
                          "rank": metrics.first_relevant_rank(o.ranked, set(o.question.relevant), K),
                          "confident": o.confident} for o in outcomes],
    }


def calibrate(asked: list[Outcome], folds: int, held_out: list[Outcome] = (),
              max_false_abstain: float = MAX_FALSE_ABSTAIN) -> dict:
    """The confidence model fitted on these questions (the settings it would give) with its in-sample
    abstention figures, next to the out-of-fold ones: each fold judged by a model fitted on the others.

    ``held_out`` (category hold-out outcomes, no right answer) join the fit as in-domain negatives; a
    question and its held-out twin share a fold (folds go by question text), so nothing leaks."""
    outcomes = [*asked, *held_out]
    answerable = np.array([bool(o.question.relevant) for o in outcomes])
    if answerable.all() or not answerable.any():
        return {}
    holdout = np.arange(len(outcomes)) >= len(asked)
    signals = np.array([o.signals for o in outcomes], dtype=float)
    answered = np.array([bool(set(o.ranked[:3]) & set(o.question.relevant)) for o in outcomes])
    top_right = np.array([bool(o.ranked) and o.ranked[0] in o.question.relevant for o in outcomes])
    vetoed = np.array([o.vetoed for o in outcomes])
    fitted = calibration.fit(signals, answered, answerable, max_false_abstain, ~holdout)
    in_sample = (calibration.predict(fitted, signals) >= fitted.threshold) & ~vetoed
    out_of_fold = calibration.cross_validate([o.question.q for o in outcomes], signals, answered, answerable,
                                             folds, max_false_abstain, ~holdout) & ~vetoed

    def figures(confident: np.ndarray) -> dict:
        asked_only = ~holdout
        right = confident & top_right & asked_only
        found = {k: round(v, 4) for k, v in metrics.abstention(~answerable[asked_only], ~confident[asked_only]).items()}
        return found | {"confident_precision": round(float(right.sum() / max((confident & asked_only).sum(), 1)), 4),
                        "holdout_abstain_rate": round(float((~confident[holdout]).mean()), 4) if holdout.any()
                        else None}

    return {"folds": folds, "max_false_abstain": max_false_abstain, "settings": fitted.settings(),
            "in_sample": figures(in_sample), "out_of_fold": figures(out_of_fold),
            "served": figures(np.array([o.confident for o in outcomes])), "holdout_questions": int(holdout.sum())}


def evaluate(kb: Path, questions_path: Path, root: Path, embedder: Embedder, config: Config, configs: list[str],
             as_of: dt.date | None = None, folds: int = 5, query_embedder: Embedder | None = None) -> dict:
    """The whole evaluation: index, questions, every named configuration. ``query_embedder``: the same model
    set up as a server lane for the questions (default: ``embedder``)."""
    index = prepare_index(kb, root, embedder, config)
    questions = load_questions(questions_path, index.articles)
    searcher = Searcher(index, QueryEncoder(query_embedder or embedder, config.query_cache_size), config,
                        today=(lambda: as_of) if as_of else dt.date.today)
    categories = {a.id: a.category for a in index.articles.values()}
    outcomes = {name: run(searcher, questions, ARM_SETS[name], FORCED_FUSION.get(name)) for name in configs}
    reports = {name: summarize(found, categories) for name, found in outcomes.items()}
    if "hybrid" in outcomes:
        reports["hybrid"]["calibration"] = calibrate(outcomes["hybrid"], folds, category_holdout(searcher, questions))
    return {"kb": str(kb), "questions_file": str(questions_path), "index_version": index.version,
            "embedder": embedder.id, "as_of": (as_of or dt.date.today()).isoformat(),
            "confidence_threshold": config.confidence_threshold, "configs": reports}
