"""Query time: a customer's question → the few articles worth sending, with snippets and confidence.

The pipeline, one module per step (``search.Searcher`` runs it):
rewrite (pinyin) → filters (category, product, validity) → arms (dense, BM25,
questions) → fusion → products (hints) → sections (best section, snippet) →
confidence. ``assist.Assistant.answer`` calls ``Searcher.search`` for the server and the eval harness, then
triages the message.
"""
from core.arms import ARMS

from .encoder import QueryEncoder
from .search import Searcher
from .types import DeadlineExceeded, Query, QueryError, SearchResult, Suggestion

__all__ = ["ARMS", "DeadlineExceeded", "Query", "QueryEncoder", "QueryError", "SearchResult", "Searcher", "Suggestion"]
