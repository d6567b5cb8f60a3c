"""Alignment stage: in a past chat, which customer question did an agent answer, and which KB article does that
answer restate?

Agents paraphrase, shorten, paste the reply template or answer something the KB does not hold. The answer text is
searched against the KB's sections (dense + BM25, the index's own arms; the questions arm would match the customer's
words, not the agent's), judged on the chat's own day, and mapped to the top article only when (1) that search's
confidence clears ``min_evidence`` and (2) the customer's question itself finds the article among its first
``question_rank`` candidates: a wrong mapping teaches the ranker a wrong wording, a missed one costs only a
wording. Greetings, holding lines, requests for the order number and sign-offs answer nothing and are skipped. The
answered question is the customer's message(s) since the agent's previous answer; when several, the one whose
search ranks the mapped article highest. An answer far from every article (below ``unanswered_below``) was given
from outside the KB: its question is *unanswered*, what the KB lacks.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Iterable

from core.arms import BM25, DENSE
from .exports import AGENT, CUSTOMER, Session

from retrieval.search import Searcher
from retrieval.types import Query

# Agent lines that answer nothing. Short (a real answer restating a rule is rarely under 20 characters AND one
# of these), matched at the start or as the whole line.
NON_ANSWER = re.compile(
    r"^(?:亲[，,～~！!]*)?(?:"
    r"您好|你好|在的|在呢|在哦|您说|请问有什么|欢迎光临|很高兴为您服务|"  # greeting
    r"稍等|请稍|我(?:这边)?(?:帮您|给您|看下|查下|查一下|看一下|核实)|马上(?:帮您)?(?:查|看)|正在(?:为您)?查询|"  # holding
    r"(?:麻烦|请)(?:您)?(?:提供|发(?:一下|下)?|告诉)|方便(?:提供|发)|您的订单号|"  # asking for information
    r"还有(?:其他|别的|什么)|祝您|感谢|谢谢|不客气|好的[呢哦～~]*$|嗯嗯|好嘞|再见"  # sign-off
    r")")
NON_ANSWER_MAX_CHARS = 30
CONTENT = re.compile(r"[0-9A-Za-z\u4e00-\u9fff]")
GREETING_ONLY = re.compile(r"^(?:亲|在吗|在不在|有人吗|你好|您好|hello|hi|客服|人呢|[?？!！。.,，~～\s])+$",
                           re.IGNORECASE)


@dataclass(frozen=True)
class Settings:
    """The aligner's thresholds (settings ``align_min_evidence``, ``align_question_rank``,
    ``align_unanswered_below``; chosen on one shop's labelled history, checked on another's: eval.alignment)."""

    min_evidence: float = 0.95  # the answer's search confidence for its top article
    question_rank: int = 3  # the article must be among the question's own top candidates
    unanswered_below: float = 0.5  # an answer this far from every article answered from outside the KB


@dataclass(frozen=True)
class Pair:
    """One customer question and what the agent answered."""

    session: str
    question: str
    asked_at: dt.datetime
    answer: str
    kind: str  # "answered" (article_id set) | "unanswered" (the KB holds no such answer) | "unsure"
    article_id: str | None
    section: str | None
    evidence: float  # the answer's search confidence for its top article
    source: str  # the export file


def is_answer(text: str) -> bool:
    """Whether an agent line can answer a question: not a greeting, holding line, request or sign-off."""
    return not (len(text) <= NON_ANSWER_MAX_CHARS and NON_ANSWER.match(text))


def is_question(text: str) -> bool:
    """A customer message worth learning from: it has content beyond a greeting or punctuation."""
    return bool(CONTENT.search(text)) and not GREETING_ONLY.match(text)


def exchanges(session: Session) -> Iterable[tuple[list, object]]:
    """(the customer's messages since the previous answer, the agent's answering message) in order."""
    waiting: list = []
    for message in session.messages:
        if message.role == CUSTOMER:
            if is_question(message.text):
                waiting.append(message)
        elif message.role == AGENT and is_answer(message.text) and waiting:
            yield waiting, message
            waiting = []


def align(sessions: Iterable[Session], searcher: Searcher, settings: Settings = Settings()) -> list[Pair]:
    pairs = []
    for session in sessions:
        for asked, answer in exchanges(session):
            day = answer.at.date()
            article, section, evidence = map_answer(searcher, answer.text, 0.0, day)
            question, kind = asked[0], "unsure"
            if article is not None and evidence >= settings.min_evidence:
                question, rank = _nearest(searcher.on(day), asked, article)
                kind = "answered" if rank < settings.question_rank else "unsure"
            elif evidence < settings.unanswered_below:
                kind = "unanswered"
            if kind != "answered":
                article = section = None
            pairs.append(Pair(session.id, question.text, question.at, answer.text, kind, article, section,
                              evidence, session.source))
    return pairs


def map_answer(searcher: Searcher, text: str, min_evidence: float,
               day: dt.date | None = None) -> tuple[str | None, str | None, float]:
    """(article, section, evidence) the answer restates, judged on ``day`` (the chat's: a campaign article valid
    then, expired now, is what the agent restated)."""
    searcher = searcher if day is None else searcher.on(day)
    result = searcher.search(Query(text, top_k=3, arms=(DENSE, BM25), include_expired=True))
    if not result.suggestions:
        return None, None, 0.0
    top = result.suggestions[0]
    if result.confidence < min_evidence:
        return None, None, result.confidence
    return top.article_id, top.section, result.confidence


def _nearest(searcher: Searcher, asked: list, article: str):
    """(the customer message whose own search ranks the answer's article highest, that rank); ties: the first
    asked. A question that does not find the article among its candidates at all was likely not what the
    answer answered."""
    def rank(message) -> int:
        found = searcher.search(Query(message.text, top_k=10, include_expired=True))
        ids = [s.article_id for s in found.suggestions]
        return ids.index(article) if article in ids else len(ids) + 1
    ranked = [(rank(m), i) for i, m in enumerate(asked)]
    best, index = min(ranked)
    return asked[index], best
