"""Whether the suggestions are worth sending: the probability that they hold the answer, and a threshold.

"Hold the answer" is what the fit on labeled questions learns: the question is one the KB answers
and a right article is among the top 3 (``eval.calibration``).

A small logistic model over three signals that carry across shops and
questions: the top article's evidence (the mean of its best cosine to a
section and to a known phrasing), how much of the question's IDF weight the
article covers (an out-of-scope question shares a word or two, not its
substance), and whether the question is in another script than the KB. Its
weights and threshold are settings, fitted on labeled questions out of fold by
``python -m eval --folds`` (docs/developers.md, Confidence).
"""
from __future__ import annotations

import math

from core.arms import DENSE, QUESTIONS
from core.config import Config
from indexer.pinyin import has_han

from . import substance
from .catalog import Catalog
from .features import CANDIDATE_FEATURES, Candidates
from .types import OutOfScope, Suggestion

BELOW_THRESHOLD = "below_threshold"

SIGNALS = ("evidence", "coverage", "foreign")
_COVERAGE = CANDIDATE_FEATURES.index("idf_coverage")


def signals(suggestions: tuple[Suggestion, ...], candidates: Candidates, text: str,
            catalog: Catalog) -> tuple[float, float, float]:
    if not suggestions:
        return (0.0, 0.0, float(not has_han(text)))
    top = suggestions[0]
    cosines = [top.scores[DENSE]]
    if catalog.phrasings_of.get(top.article_id):
        cosines.append(top.scores[QUESTIONS])
    row = candidates.ids.index(top.article_id) if top.article_id in candidates.ids else None
    coverage = float(candidates.matrix[row, _COVERAGE]) if row is not None else 0.0
    return (sum(cosines) / len(cosines), coverage, float(not has_han(text)))


def weights(config: Config) -> tuple[float, ...]:
    return (config.confidence_weight_evidence, config.confidence_weight_coverage, config.confidence_weight_foreign)


def probability(values: tuple[float, ...], bias: float, coefficients: tuple[float, ...]) -> float:
    z = bias + sum(w * x for w, x in zip(coefficients, values))
    return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))


def veto(suggestions: tuple[Suggestion, ...], out_of_scope: OutOfScope | None, text: str) -> str | None:
    """Why the answer is never confident, whatever the model says, or None: a message with no word in it
    or only a greeting (``retrieval.substance``), nothing to send, an ended article first, or a question
    nearer to something the shop does not handle (``retrieval.scope``). The eval harness applies the
    same veto to the models it fits."""
    if (lacking := substance.lacking(text)) is not None:
        return lacking
    if not suggestions:
        return "no_suggestions"
    if suggestions[0].expired:
        return "ended_first"
    return "out_of_scope" if out_of_scope is not None else None


def unconfident_reason(suggestions: tuple[Suggestion, ...], value: float, config: Config, text: str,
                       out_of_scope: OutOfScope | None = None) -> str | None:
    """None when the suggestions are worth sending; else why not (a veto, or ``below_threshold``)."""
    vetoed = veto(suggestions, out_of_scope, text)
    if vetoed is not None:
        return vetoed
    return None if value >= config.confidence_threshold else BELOW_THRESHOLD
