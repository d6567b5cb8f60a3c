"""Knowledge-base indexing and retrieval for the answer suggester: parse → chunk → embed → index → search."""

__version__ = "0.1.0"
