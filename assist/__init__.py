"""Agent assist beyond retrieval: triage (intent, urgency, emotion, hand-off), comfort lines and conversation
context. Data first: everything it knows comes from the triage data (built in, plus the KB's ``_assist/``)
through the index (``index.assist``).

context (follow-ups, rounds, escalation) → search → triage (cues + nearest examples on the query embedding the
search computed + the suggested articles) → comfort. ``service.Assistant`` runs it for the server and the eval.
"""
from .model import TriageModel
from .service import Answer, Assistant
from .types import ROLES, Comfort, Context, Evidence, Triage, Turn

__all__ = ["ROLES", "Answer", "Assistant", "Comfort", "Context", "Evidence", "Triage", "TriageModel", "Turn"]
