"""The app's shared objects, for the views of every blueprint: taken from ``current_app`` on each call."""
from __future__ import annotations

from flask import current_app

from assist import Assistant
from core.config import Config
from retrieval import Searcher
from storage.stores import Stores

from .errors import ApiError


def config() -> Config:
    return current_app.extensions["kbs_config"]


def stores() -> Stores:
    return current_app.extensions["kbs_stores"]


def holder():
    return current_app.extensions["kbs_holder"]


def served():
    return current_app.extensions["kbs_served"]


def metrics():
    return current_app.extensions["kbs_metrics"]


def assistant() -> Assistant:
    found = holder().assistant  # taken once: a reload cannot change it mid-request
    if found is None:
        raise ApiError(503, "index_unavailable", holder().error or "no index is loaded yet")
    return found


def searcher() -> Searcher:
    return assistant().searcher
