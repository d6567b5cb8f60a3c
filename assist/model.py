"""The triage data of one index (``index.assist``, parsed from ``kb/_assist``), compiled once at load time."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from indexer.store import Index
from indexer.tokenize import normalize

from .types import Evidence


@dataclass(frozen=True)
class Cue:
    regex: re.Pattern
    weight: float
    scopes: tuple[tuple[int, tuple[str, ...]], ...]  # (window, words) that cancel a match preceded by them


class CueSet:
    """Labels of one group (intent, emotion, handoff, …), each with its weighted regular expressions."""

    def __init__(self, name: str, by_label: dict[str, list], scopes: dict[str, Any]):
        self.name = name
        self.labels = tuple(by_label)
        self.cues = {label: tuple(Cue(re.compile(pattern), weight, _scopes(f"{name}.{label}", scopes))
                                  for pattern, weight in entries)
                     for label, entries in by_label.items()}

    def scores(self, text: str, source: str = "message") -> dict[str, tuple[float, list[Evidence]]]:
        """label → (summed weight of its cues found in ``text``, the evidence); labels without a cue left out."""
        out: dict[str, tuple[float, list[Evidence]]] = {}
        for label, cues in self.cues.items():
            total, evidence = 0.0, []
            for cue in cues:
                found = _first_unscoped(cue, text)
                if found is not None:
                    total += cue.weight
                    evidence.append(Evidence("cue", found, cue.weight, label, source))
            if evidence:
                out[label] = (total, evidence)
        return out

    def total(self, text: str) -> float:
        return sum(score for score, _ in self.scores(text).values())


def _scopes(target: str, scopes: dict[str, Any]) -> tuple[tuple[int, tuple[str, ...]], ...]:
    return tuple((s["window"], tuple(s["words"])) for s in scopes.values() if target in s["applies_to"])


def _first_unscoped(cue: Cue, text: str) -> str | None:
    """The first match of the cue that no scope word (negation, hypothetical) ends ``window`` characters before."""
    for match in cue.regex.finditer(text):
        start = match.start()
        if not any(word in text[max(0, start - window - len(word) + 1):start]
                   for window, words in cue.scopes for word in words):
            return match.group(0)
    return None


@dataclass(frozen=True)
class TriageModel:
    taxonomy: dict[str, Any]
    intents: tuple[str, ...]
    emotions: tuple[str, ...]
    intent_cues: CueSet
    emotion_cues: CueSet
    urgency_cues: CueSet  # urgency_high: reason → cues
    handoff_cues: CueSet
    flat: dict[str, CueSet]  # urgency_owned/_browsing, closure, push, followup: one label each ("")
    examples: tuple[dict, ...]
    example_vectors: np.ndarray
    example_labels: dict[str, np.ndarray]  # dimension → label index per example
    intent_of_article: dict[str, str]
    intent_of_category: dict[str, str]
    comfort: tuple[dict, ...]
    scoring: dict[str, Any]

    @classmethod
    def of_index(cls, index: Index) -> "TriageModel | None":
        data = index.assist
        if data is None:
            return None
        taxonomy, cues = data["taxonomy"], data["cues"]
        scopes = cues.get("scopes", {})
        intents = tuple(i["label"] for i in taxonomy["intents"])
        emotions = tuple(taxonomy["emotions"])
        levels = tuple(taxonomy["urgency"]["levels"])
        examples = tuple(data["examples"])
        labels = {"intent": intents, "urgency": levels, "emotion": emotions}
        return cls(
            taxonomy=taxonomy, intents=intents, emotions=emotions,
            intent_cues=CueSet("intent", cues["intent"], scopes),
            emotion_cues=CueSet("emotion", cues["emotion"], scopes),
            urgency_cues=CueSet("urgency_high", cues["urgency_high"], scopes),
            handoff_cues=CueSet("handoff", cues["handoff"], scopes),
            flat={name: CueSet(name, {"": cues[name]}, scopes)
                  for name in ("urgency_owned", "urgency_browsing", "closure", "push", "followup")},
            examples=examples, example_vectors=np.asarray(index.assist_vectors, dtype=np.float32),
            example_labels={dim: np.array([names.index(e[dim]) for e in examples], dtype=np.int64)
                            for dim, names in labels.items()},
            intent_of_article={a: i["label"] for i in taxonomy["intents"] for a in i.get("articles") or ()},
            intent_of_category={c: i["label"] for i in taxonomy["intents"] for c in i.get("categories") or ()},
            comfort=tuple(data["comfort"]), scoring=dict(taxonomy.get("scoring") or {}),
        )

    def intent_info(self, label: str) -> dict[str, Any]:
        return next(i for i in self.taxonomy["intents"] if i["label"] == label)

    def levels(self) -> tuple[str, ...]:
        return tuple(self.taxonomy["urgency"]["levels"])


def clean(text: str) -> str:
    """What the cues read: lowercased, full-width ASCII folded (！？ → !?), spaces squeezed."""
    return " ".join(normalize(text).split())
