"""HTTP API of the answer suggester: a thin Flask layer over ``assist.Assistant.answer`` (retrieval, then triage),
the storage layer (feedback, query log) and the weekly report."""

from .app import create_app

__all__ = ["create_app"]
