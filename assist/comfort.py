"""Comfort lines (话术库, ``comfort/*.md`` of the triage data): the one that fits the message's emotion and situation."""
from __future__ import annotations

from .model import TriageModel
from .types import Comfort, Triage


def situations(model: TriageModel, triage: Triage) -> list[str]:
    """The situations of ``taxonomy.yaml`` that hold: each listed field matches (any of its values)."""
    facts = {"intents": {triage.intent.label}, "reasons": set(triage.reasons),
             "emotions": {triage.emotion.label}, "handoff": {triage.handoff_reason} - {None}}
    held = []
    for name, rule in (model.taxonomy.get("situations") or {}).items():
        conditions = [(field, set(values)) for field, values in (rule or {}).items() if field in facts]
        if conditions and all(values & facts[field] for field, values in conditions):
            held.append(name)
    return held


def choose(model: TriageModel, triage: Triage) -> Comfort | None:
    """Best line: the most serious situation it matches (taxonomy order), then the emotion. A line must match
    a situation (and the emotion, when it lists emotions), or list no situation and match the emotion.
    Neutral, plain questions get none."""
    held = situations(model, triage)
    rank = {name: len(held) - i for i, name in enumerate(held)}  # held keeps the taxonomy's order
    emotion = triage.emotion.label
    best, best_score = None, 0.0
    for line in model.comfort:
        emotions, wanted = set(line["emotions"]), set(line["situations"])
        if emotions and emotion not in emotions:
            continue
        matched = [name for name in held if name in wanted]
        if wanted and not matched:
            continue
        if not wanted and emotion == "neutral":
            continue
        score = 10 * max((rank[name] for name in matched), default=0) + (1 if emotion in emotions else 0)
        if score > best_score:
            best, best_score = Comfort(line["id"], line["title"], line["text"],
                                       tuple(matched) + ((emotion,) if emotion in emotions else ())), score
    return best
