"""The triage's tunables (``scoring`` in a triage ``taxonomy.yaml``) as one typed record.

The built-in pack (``defaults/assist/taxonomy.yaml``) is the only source of their values: no code holds a fallback
(three places did, with different numbers: ``neighbours`` 7 vs 5, ``temperature`` 0.02 vs 0.01 …). A KB's layer may
change any of them; an unknown key, a value of the wrong type or a missing one (``defaults: false`` without them
all) is an error at its line, and triage (``assist.triage``, ``assist.context``) reads the fields by name.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

import yaml

DIMENSIONS = ("intent", "urgency", "emotion")


class ScoringError(ValueError):
    def __init__(self, key: str, message: str):
        super().__init__(f"scoring.{key}: {message}")
        self.key = key


@dataclass(frozen=True)
class PerDimension:
    intent: float
    urgency: float
    emotion: float

    def of(self, dimension: str) -> float:
        return getattr(self, dimension)


@dataclass(frozen=True)
class Scoring:
    neighbours: int  # nearest example messages that vote
    temperature: float  # softmax temperature over the neighbours' cosines
    example_weight: PerDimension  # the examples' vote, per dimension
    article_weight: float  # vote of the top suggestions' categories/articles for the intent
    handoff_threshold: float  # summed request/risk/complaint cue weight that triggers a hand-off
    high_threshold: float  # summed cue weight of one urgency reason that makes a message high
    intensity_scale: float  # emotion score at which intensity reaches 1
    neutral_prior: float  # a message is neutral unless an emotion scores above this
    urgency_prior_weight: float  # weight of the intent's urgency_prior
    wins_over_cue: float  # cue score an intent needs before its wins_over applies
    emotion_carry: float  # share of the customer's last turn's emotion cues that colours this message
    own_topic_cue: float  # a follow-up whose own cues reach this keeps its own topic
    classifier_l2: float  # the build's classifier's L2
    classifier_weight: PerDimension  # weight × the classifier's probability adds to each label's score
    high_probability: float  # probability of high above which a message is high without a cue
    handoff_probability: float  # summed probability of the hand-off reasons above which a message is handed off

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> "Scoring":
        """The record of a merged ``scoring`` mapping; ScoringError naming the first key that is wrong."""
        if not isinstance(data, Mapping):
            raise ScoringError("", "must be a mapping of names to numbers")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise ScoringError(unknown[0], f"unknown setting (known: {', '.join(fields)})")
        missing = [name for name in fields if name not in data]
        if missing:
            raise ScoringError(missing[0], "missing (a KB with 'defaults: false' gives every scoring setting)")
        values = {name: _value(name, data[name], field.type) for name, field in fields.items()}
        scoring = cls(**values)
        if scoring.neighbours < 1:
            raise ScoringError("neighbours", "must be a whole number ≥ 1")
        if scoring.temperature <= 0:
            raise ScoringError("temperature", "must be above 0")
        return scoring

    @classmethod
    def of_index(cls, data: Mapping[str, Any]) -> "Scoring":
        """The record an index stored: one an older version wrote may lack a setting added since (taken from the
        built-in pack, the one source of values) or hold one since removed (dropped)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls.from_mapping({**built_in(), **{k: v for k, v in data.items() if k in names}})

    def to_mapping(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> "Scoring":
        """A copy with some values changed (``example_weight={"urgency": 1.0}`` changes one dimension)."""
        merged = self.to_mapping()
        for name, value in changes.items():
            merged[name] = {**merged[name], **value} if isinstance(merged.get(name), dict) else value
        return Scoring.from_mapping(merged)


def _value(name: str, value: Any, kind: str) -> Any:
    number = (int, float)
    if kind == "PerDimension":
        if not isinstance(value, Mapping) or set(value) - set(DIMENSIONS) or set(DIMENSIONS) - set(value) \
                or not all(isinstance(v, number) and not isinstance(v, bool) for v in value.values()):
            raise ScoringError(name, f"must map each of {', '.join(DIMENSIONS)} to a number")
        return PerDimension(**{k: float(v) for k, v in value.items()})
    if kind == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            raise ScoringError(name, "must be a whole number")
        return value
    if not isinstance(value, number) or isinstance(value, bool):
        raise ScoringError(name, "must be a number")
    return float(value)


@lru_cache(maxsize=1)
def built_in() -> dict[str, Any]:
    """The built-in pack's ``scoring`` mapping."""
    path = Path(__file__).parent / "defaults" / "assist" / "taxonomy.yaml"
    return dict(yaml.safe_load(path.read_text(encoding="utf-8"))["scoring"])
