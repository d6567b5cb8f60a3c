"""The 1–2 sentences of a section that best answer the question, with matched terms' offsets."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from indexer.chunk import split_sentences
from indexer.tokenize import Tokenizer

SHORT_SENTENCE = 40


@dataclass(frozen=True)
class Snippet:
    text: str
    highlights: tuple[tuple[int, int], ...]  # [start, end) character offsets into text


def make_snippet(text: str, query_terms: set[str], tokenizer: Tokenizer,
                 weight: Callable[[str], float]) -> Snippet:
    sentences = split_sentences(text) or [text]
    scored = [sum(weight(t) for t in tokenizer.words(s) & query_terms) for s in sentences]
    best = max(range(len(sentences)), key=lambda i: (scored[i], -i))
    chosen = sentences[best]
    if len(chosen) < SHORT_SENTENCE and best + 1 < len(sentences):
        joiner = "" if chosen[-1] in "。！？；…!?;" else " "
        chosen = chosen + joiner + sentences[best + 1]
    return Snippet(chosen, highlight(chosen, query_terms, tokenizer))


def highlight(text: str, query_terms: set[str], tokenizer: Tokenizer) -> tuple[tuple[int, int], ...]:
    spans = sorted((start, end) for token, start, end in tokenizer.spans(text) if token in query_terms)
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple((s, e) for s, e in merged)
