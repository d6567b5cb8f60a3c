"""HTTP API of the answer suggester: a thin Flask layer over indexer.search."""

from .app import create_app

__all__ = ["create_app"]
