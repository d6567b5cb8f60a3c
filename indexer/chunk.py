"""Chunk stage: Articles → Chunks (one per section, long ones split at sentence ends) and Phrasings."""
from __future__ import annotations

import re
from typing import Iterable

from .records import Article, Chunk, Phrasing, sha256_text

# A sentence ends after Chinese or Western terminal punctuation (plus closing quotes) or a newline.
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;…])[”’」』）)]*|(?<=\.)\s+|\n+")


def split_sentences(text: str) -> list[str]:
    pieces, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        end = match.end()
        if text[start:end].strip():
            pieces.append(text[start:end].strip())
        start = end
    if text[start:].strip():
        pieces.append(text[start:].strip())
    return pieces


def pack(sentences: Iterable[str], max_chars: int) -> list[str]:
    """Greedy packing of whole sentences; a sentence longer than max_chars is cut hard."""
    parts: list[str] = []
    current = ""
    for sentence in sentences:
        while len(sentence) > max_chars:
            if current:
                parts.append(current)
                current = ""
            parts.append(sentence[:max_chars])
            sentence = sentence[max_chars:]
        joiner = "\n" if current else ""
        if len(current) + len(joiner) + len(sentence) > max_chars and current:
            parts.append(current)
            current = sentence
        else:
            current = current + joiner + sentence
    if current:
        parts.append(current)
    return parts


def chunk_article(article: Article, max_chars: int) -> list[Chunk]:
    chunks = []
    for section in article.sections:
        pieces = pack(split_sentences(section.text), max_chars)
        for n, piece in enumerate(pieces):
            suffix = f"~{n + 1}" if len(pieces) > 1 else ""
            context = _unique_prefix(article.title, section.heading_path)
            embed_text = f"{context}\n{piece}" if context and context != piece else piece
            chunks.append(Chunk(
                id=f"{article.id}#{section.anchor}{suffix}", article_id=article.id, title=article.title,
                heading_path=section.heading_path, anchor=section.anchor, category=article.category,
                products=article.products, valid_from=article.valid_from, valid_until=article.valid_until,
                text=piece, embed_text=embed_text, content_hash=sha256_text(embed_text),
            ))
    return chunks


def _unique_prefix(title: str, heading_path: tuple[str, ...]) -> str:
    """'Title › heading' without repeating a heading that equals the title."""
    parts = [title] + [h for h in heading_path if h and h != title]
    return " › ".join(parts)


def phrasings(article: Article, learned: Iterable[str] = ()) -> list[Phrasing]:
    """The article's known ways of being asked: its title, the canonical one, its ``questions:`` and the wordings
    learned from the shop's chats."""
    texts = dict.fromkeys([article.title, *article.questions, *learned])
    return [Phrasing(article.id, text, sha256_text(text)) for text in texts if text.strip()]


def chunking_params(max_chars: int, learned_min_support: int) -> dict:
    """What shapes chunks and phrasings, recorded in the manifest: an index built otherwise is stale."""
    return {"strategy": "section+sentence", "max_chars": max_chars, "phrasings": "title+questions+learned",
            "learned_min_support": learned_min_support}


def chunk_kb(articles: Iterable[Article], max_chars: int,
             learned: Iterable[tuple[str, str]] = ()) -> tuple[list[Chunk], list[Phrasing]]:
    """``learned``: (article id, wording) pairs from the shop's learned data, phrasings of their articles after
    the editors' own."""
    chunks: list[Chunk] = []
    found: list[Phrasing] = []
    extra: dict[str, list[str]] = {}
    for article_id, text in learned:
        extra.setdefault(article_id, []).append(text)
    for article in articles:
        chunks.extend(chunk_article(article, max_chars))
        found.extend(phrasings(article, extra.get(article.id, ())))
    return chunks, found
