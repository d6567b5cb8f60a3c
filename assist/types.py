"""The records of agent assist: earlier turns in, a Triage (with its evidence) and a comfort line out."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

ROLES = ("customer", "agent")


@dataclass(frozen=True)
class Turn:
    role: str  # "customer" | "agent"
    text: str


@dataclass(frozen=True)
class Evidence:
    """One reason behind a label: a cue word found, a similar example, the suggested article, a count."""

    signal: str  # cue | example | classifier | article | intent | rounds | escalation
    text: str
    weight: float
    label: str = ""
    source: str = "message"  # message | context (an earlier turn)

    def to_json(self) -> dict:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Label:
    label: str
    score: float
    evidence: tuple[Evidence, ...] = ()
    scores: dict[str, float] = field(default_factory=dict)  # every label's score, for the curious


@dataclass(frozen=True)
class Context:
    """What the earlier turns contributed."""

    search_text: str  # the text retrieval ran on (the message, plus what was carried over)
    carried: tuple[str, ...] = ()  # products or words carried over from earlier turns
    customer_rounds: int = 1  # customer turns on the current unresolved topic, this message included
    escalation: tuple[str, ...] = ()  # the emotions of the last customer turns when they escalate


@dataclass(frozen=True)
class Triage:
    intent: Label
    urgency: Label
    reasons: tuple[str, ...]
    emotion: Label
    intensity: float
    handoff: bool
    handoff_reason: str | None
    handoff_evidence: tuple[Evidence, ...]
    context: Context

    def to_json(self) -> dict:
        def ev(items):
            return [e.to_json() for e in items]

        return {
            "intent": {"label": self.intent.label, "score": round(self.intent.score, 3),
                       "evidence": ev(self.intent.evidence),
                       "scores": {k: round(v, 3) for k, v in self.intent.scores.items()}},
            "urgency": {"label": self.urgency.label, "reasons": list(self.reasons),
                        "evidence": ev(self.urgency.evidence)},
            "emotion": {"label": self.emotion.label, "intensity": round(self.intensity, 2),
                        "evidence": ev(self.emotion.evidence)},
            "handoff": {"needed": self.handoff, "reason": self.handoff_reason, "evidence": ev(self.handoff_evidence)},
            "context": {"search_text": self.context.search_text, "carried": list(self.context.carried),
                        "customer_rounds": self.context.customer_rounds,
                        "escalation": list(self.context.escalation)},
        }


@dataclass(frozen=True)
class Comfort:
    id: str
    title: str
    text: str
    matched: tuple[str, ...]  # the situations and emotion it was chosen for

    def to_json(self) -> dict:
        return {"id": self.id, "title": self.title, "text": self.text, "matched": list(self.matched)}
