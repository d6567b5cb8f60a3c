"""The records each pipeline stage hands to the next: parse → chunk → embed → index → search."""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in the KB, printed as ``path:line: severity: message``."""

    path: str
    line: int
    severity: str  # "error" | "warning"
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.severity}: {self.message}"


@dataclass(frozen=True)
class Section:
    heading_path: tuple[str, ...]
    anchor: str
    markdown: str
    text: str  # plain text rendered from ``markdown``
    line: int


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    category: str
    path: str  # relative to the KB root, '/'-separated
    products: tuple[str, ...] = ()
    questions: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    sections: tuple[Section, ...] = ()
    reply_template: str = ""
    body: str = ""  # the Markdown body, for rendering the whole article
    content_hash: str = ""  # hash of the source file: what `diff` compares

    def validity(self, today: dt.date) -> str:
        """'valid', 'expired' or 'upcoming' on the given day."""
        if self.valid_until and today > self.valid_until:
            return "expired"
        if self.valid_from and today < self.valid_from:
            return "upcoming"
        return "valid"


@dataclass(frozen=True)
class Chunk:
    """A retrievable piece of one section; its id is stable across rebuilds."""

    id: str  # "<article id>#<section anchor>" plus "~<n>" for the n-th split part
    article_id: str
    title: str
    heading_path: tuple[str, ...]
    anchor: str
    category: str
    products: tuple[str, ...]
    valid_from: dt.date | None
    valid_until: dt.date | None
    text: str  # the section's plain text (this part of it)
    embed_text: str  # title and headings + text: what the embedder and BM25 see
    content_hash: str  # hash of embed_text, the embedding cache key


@dataclass(frozen=True)
class Phrasing:
    """One of an article's ``questions:`` — a known way customers ask it."""

    article_id: str
    text: str
    content_hash: str
