"""The build job and the index format: parse → chunk → embed (cached) → FAISS + BM25 → publish atomically,
and the rebuild CLI. Query time lives in ``retrieval``, over the ``store.Index`` this package writes and loads."""

__version__ = "0.1.0"
