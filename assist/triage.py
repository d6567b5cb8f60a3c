"""Triage of one customer message: intent, urgency (with reasons), emotion (with intensity) and hand-off.

Each label's score adds three signals, every one of which leaves evidence:

- cue words from ``cues.yaml`` (indexer/defaults/assist, plus the KB's own) found in the message (negation- and
  hypothetical-aware);
- a vote of the nearest labelled example messages (``examples.yaml``), on the query embedding the search already
  computed — no second embedding call;
- the probabilities of the classifier the build trained on those examples (assist.classifier), which also
  reads the message's character n-grams: anger or urgency said without a cue word;
- for the intent, the categories of the suggested articles (``taxonomy.yaml`` maps them to intents).

The weights are in ``taxonomy.yaml`` (``scoring``). Urgency ``high`` needs a reason (refund, quality, complaint,
deadline, safety, escalation) or a classifier probability of high above ``high_probability``; hand-off needs a
request, a risk, a complaint threat, too many rounds or a classifier probability above ``handoff_probability``.
"""
from __future__ import annotations

import numpy as np

from retrieval.types import SearchResult

from .model import CueSet, TriageModel, clean
from .types import Context, Evidence, Label, Triage

ARTICLE_VOTES = 3  # suggestions whose article votes for the intent
EXAMPLE_EVIDENCE = 2  # nearest examples quoted as evidence


def neighbours(model: TriageModel, vector: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(indices, softmax weights) of the nearest examples to the query vector."""
    if vector is None or not len(model.examples):
        return np.zeros(0, np.int64), np.zeros(0)
    sims = model.example_vectors @ np.asarray(vector, dtype=np.float32)
    k = min(model.scoring.neighbours, len(sims))
    top = np.argpartition(-sims, k - 1)[:k]
    top = top[np.argsort(-sims[top], kind="stable")]
    weights = np.exp((sims[top] - sims[top[0]]) / model.scoring.temperature)
    return top, weights / weights.sum()


def _vote(model: TriageModel, dim: str, names: tuple[str, ...], top, weights) -> np.ndarray:
    votes = np.zeros(len(names))
    np.add.at(votes, model.example_labels[dim][top], weights)
    return votes


def _example_evidence(model: TriageModel, dim: str, top, weights, label: str) -> list[Evidence]:
    return [Evidence("example", model.examples[i]["text"], float(w), label)
            for i, w in zip(top, weights) if model.examples[i][dim] == label][:EXAMPLE_EVIDENCE]


def _learned(model: TriageModel, dim: str, probs: dict | None) -> tuple[dict[str, float], dict[str, float]]:
    """(the classifier's vote: weight × probability per label, the probabilities); empty without a classifier."""
    found = (probs or {}).get(dim, {})
    weight = model.scoring.classifier_weight.of(dim)
    return {label: weight * p for label, p in found.items()}, found


def _add_learned(model, dim, probs, extra: dict[str, float]) -> dict[str, float]:
    votes, found = _learned(model, dim, probs)
    for label, vote in votes.items():
        extra[label] = extra.get(label, 0.0) + vote
    return found


def _learned_evidence(found: dict[str, float], label: str) -> list[Evidence]:
    p = found.get(label, 0.0)
    return [Evidence("classifier", f"p={p:.2f}", p, label)] if p >= 0.5 else []


def _combine(names, cue_scores, extra: dict[str, float]) -> dict[str, float]:
    return {n: cue_scores.get(n, (0.0, []))[0] + extra.get(n, 0.0) for n in names}


def intent(model: TriageModel, text: str, context_text: str, result: SearchResult | None, top, weights,
           probs: dict | None = None) -> Label:
    cues = model.intent_cues.scores(text)
    own = max((score for score, _ in cues.values()), default=0.0)
    # a follow-up: the earlier topic's cues count half, unless the message names a topic of its own
    if context_text and own < model.scoring.own_topic_cue:
        for label, (score, evidence) in model.intent_cues.scores(clean(context_text), "context").items():
            own = cues.get(label, (0.0, []))
            cues[label] = (own[0] + score / 2, own[1] + evidence)
    weight = model.scoring.example_weight.intent
    extra = dict(zip(model.intents, weight * _vote(model, "intent", model.intents, top, weights)))
    learned = _add_learned(model, "intent", probs, extra)
    article_evidence: dict[str, list[Evidence]] = {}
    if result is not None and result.suggestions:
        shares = [1.0 / rank for rank in range(1, min(ARTICLE_VOTES, len(result.suggestions)) + 1)]
        scale = model.scoring.article_weight * (1.0 if result.confident else 0.5) / sum(shares)
        for suggestion, share in zip(result.suggestions, shares):
            label = (model.intent_of_article.get(suggestion.article_id)
                     or model.intent_of_category.get(suggestion.category))
            if label:
                extra[label] = extra.get(label, 0.0) + scale * share
                article_evidence.setdefault(label, []).append(
                    Evidence("article", suggestion.article_id, scale * share, label))
    scores = _combine(model.intents, cues, extra)
    for label in model.intents:  # wins_over: e.g. a quality problem decides even when a refund is asked for
        if cues.get(label, (0.0,))[0] >= model.scoring.wins_over_cue:
            for other in model.intent_info(label).get("wins_over") or ():
                scores[other] = min(scores[other], scores[label] - 0.01)
    best = max(model.intents, key=lambda n: (scores[n], -model.intents.index(n)))
    evidence = cues.get(best, (0, []))[1] + _example_evidence(model, "intent", top, weights, best) \
        + article_evidence.get(best, []) + _learned_evidence(learned, best)
    return Label(best, scores[best], tuple(evidence), scores)


def from_thread(cues: CueSet, thread: list[str], labels, threshold: float) -> dict[str, list[Evidence]]:
    """The labels (of ``labels``) whose cues reach ``threshold`` in an earlier turn on this topic: a quality
    problem or a reaction told two turns ago still holds for 那怎么处理."""
    found: dict[str, list[Evidence]] = {}
    for turn in thread:
        for label, (score, evidence) in cues.scores(turn, "context").items():
            if label in labels and score >= threshold:
                found.setdefault(label, evidence)
    return found


def emotion(model: TriageModel, text: str, top, weights, thread: list[str] = (),
            probs: dict | None = None) -> tuple[Label, float]:
    cues = model.emotion_cues.scores(text)
    denied = model.emotion_cues.denied(text, cues)  # before the earlier turn's cues join them
    if thread:  # the customer's last turn on this topic colours a short push (才穿两次啊, ？？？)
        carry = model.scoring.emotion_carry
        for label, (score, evidence) in model.emotion_cues.scores(thread[-1], "context").items():
            own = cues.get(label, (0.0, []))
            cues[label] = (own[0] + carry * score, own[1] + evidence)
    weight = model.scoring.example_weight.emotion
    extra = dict(zip(model.emotions, weight * _vote(model, "emotion", model.emotions, top, weights)))
    extra["neutral"] = extra.get("neutral", 0.0) + model.scoring.neutral_prior
    learned = _add_learned(model, "emotion", probs, extra)
    # 不着急 慢慢发: no vote brings back a denied feeling, and a customer who denies worry or anger is calm:
    if denied - {"positive"}:  # neither is voted back in
        denied |= set(model.emotions) - {"neutral", "positive"}
    for label in denied:
        extra[label] = 0.0
    scores = _combine(model.emotions, cues, extra)
    best = max(model.emotions, key=lambda n: (scores[n], n == "neutral"))
    evidence = cues.get(best, (0, []))[1] + _example_evidence(model, "emotion", top, weights, best) \
        + _learned_evidence(learned, best)
    intensity = 0.0 if best == "neutral" else min(1.0, scores[best] / model.scoring.intensity_scale)
    return Label(best, scores[best], tuple(evidence), scores), intensity


def _learned_reason(model: TriageModel, partial: dict, intent_label: Label) -> str:
    """Why a message the classifier finds urgent is: its strongest urgency cue below the threshold (``partial``:
    the message's urgency cue scores), else its intent's ``urgency_reason``, else ``urgency.learned_reason``."""
    if partial:
        return max(partial, key=lambda reason: partial[reason][0])
    return model.intent_info(intent_label.label).get("urgency_reason") \
        or model.taxonomy["urgency"].get("learned_reason", "similar")


def urgency(model: TriageModel, text: str, intent_label: Label, escalated: tuple, top, weights,
            thread: list[str] = (), probs: dict | None = None) -> tuple[Label, tuple]:
    threshold = model.scoring.high_threshold
    scored = model.urgency_cues.scores(text)
    found = {reason: ev for reason, (score, ev) in scored.items() if score >= threshold}
    carried = model.taxonomy["urgency"].get("carried") or ()
    found |= {r: ev for r, ev in from_thread(model.urgency_cues, thread, carried, threshold).items() if r not in found}
    levels = model.levels()
    if found:
        return Label("high", threshold, tuple(e for ev in found.values() for e in ev)), tuple(found)
    learned_votes, learned = _learned(model, "urgency", probs)
    if learned.get("high", 0.0) >= model.scoring.high_probability:
        return Label("high", learned["high"], tuple(_learned_evidence(learned, "high"))), \
            (_learned_reason(model, scored, intent_label),)
    prior = model.intent_info(intent_label.label).get("urgency_prior", "normal")
    owned = model.flat["urgency_owned"].scores(text).get("", (0.0, []))
    browsing = model.flat["urgency_browsing"].scores(text).get("", (0.0, []))
    weight = model.scoring.example_weight.urgency
    votes = dict(zip(levels, weight * _vote(model, "urgency", levels, top, weights)))
    prior_weight = model.scoring.urgency_prior_weight
    scores = {level: votes.get(level, 0.0) + learned_votes.get(level, 0.0) for level in ("normal", "low")}
    scores["normal"] += owned[0] + (prior_weight if prior == "normal" else 0.0)
    scores["low"] += browsing[0] + (prior_weight if prior == "low" else 0.0)
    level = "normal" if scores["normal"] >= scores["low"] else "low"
    cues = owned[1] if level == "normal" else browsing[1]
    evidence = [Evidence("intent", intent_label.label, 1.0, prior)] + list(cues) \
        + _example_evidence(model, "urgency", top, weights, level)
    if escalated:  # rising emotion across turns lifts the level by one; to high only when it rises to anger
        hot = escalated[-1] in (model.taxonomy["urgency"].get("escalation_high_emotions") or ("angry",))
        level = levels[max(levels.index(level) - 1, 0 if hot else 1)]
        evidence.append(Evidence("escalation", "emotion escalated across turns", 1.0, level))
        return Label(level, scores.get(level, 0.0), tuple(evidence)), (("escalation",) if level == "high" else ())
    return Label(level, scores[level], tuple(evidence), scores), ()


def handoff(model: TriageModel, text: str, customer_rounds: int, thread: list[str] = (),
            probs: dict | None = None) -> tuple[bool, str | None, tuple[Evidence, ...]]:
    threshold = model.scoring.handoff_threshold
    found = {reason: ev for reason, (score, ev) in model.handoff_cues.scores(text).items() if score >= threshold}
    carried = model.taxonomy["handoff"].get("carried") or ()
    found |= {r: ev for r, ev in from_thread(model.handoff_cues, thread, carried, threshold).items() if r not in found}
    over = int(model.taxonomy["handoff"].get("rounds_over", 3))
    if customer_rounds > over:
        found["rounds"] = [Evidence("rounds", f"{customer_rounds} customer rounds on this topic", customer_rounds)]
    learned = {r: p for r, p in (probs or {}).get("handoff", {}).items() if r in model.taxonomy["handoff"]["reasons"]}
    chance = sum(learned.values())  # of any hand-off at all
    if not found and learned and chance >= model.scoring.handoff_probability:
        reason = max(learned, key=learned.get)
        found[reason] = [Evidence("classifier", f"p={chance:.2f}", chance, reason)]
    for reason in model.taxonomy["handoff"]["reasons"]:  # most serious first
        if reason in found:
            return True, reason, tuple(found[reason])
    return False, None, ()


def triage(model: TriageModel, message: str, result: SearchResult | None, context: Context,
           context_text: str = "", thread_of=None, escalation_of=None) -> Triage:
    """``thread_of(intent)`` (the earlier customer turns on this topic) and ``escalation_of(emotion, score)`` read
    the earlier turns (assist.context). The thread counts the rounds; unless this message closes it (好的 谢谢),
    its lasting reasons (``carried`` in taxonomy.yaml: a quality problem, a reaction) and the customer's last
    emotion on it carry over to this message."""
    text = clean(message)
    vector = result.vector if result is not None else None
    top, weights = neighbours(model, vector)
    probs = model.classifier.probabilities(text, vector) if model.classifier is not None else {}
    found_intent = intent(model, text, context_text, result, top, weights, probs)
    thread = thread_of(found_intent.label) if thread_of else []
    customer_rounds = len(thread) + 1
    live = [] if model.flat["closure"].total(text) > 0 else thread
    found_emotion, intensity = emotion(model, text, top, weights, live, probs)
    escalated = escalation_of(found_emotion.label, found_emotion.score) if escalation_of else ()
    found_urgency, reasons = urgency(model, text, found_intent, tuple(escalated), top, weights, live, probs)
    needed, reason, evidence = handoff(model, text, customer_rounds, live, probs)
    context = Context(context.search_text, context.carried, customer_rounds, tuple(escalated))
    return Triage(found_intent, found_urgency, reasons, found_emotion, intensity, needed, reason, evidence, context)
