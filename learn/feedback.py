"""Feedback stage: the agents' tied votes (``storage.feedback``) → the KB's ``_learned/`` data, beside the history.

A copy or 👍 says the article fits the question the served answer was for; a 👎 says it does not; a gap report
says the KB has nothing for it. Only votes tied to a served answer count (issue 26: forged ones name none). One
client cannot dominate: each client (a pseudonym of its address) adds at most ``cap`` to a wording per day, and a
wording is learned for an article only while its fits outnumber its misfits.

The feedback part of every entry is recomputed from the whole table on each run, not added to: running it twice
changes nothing, and the learned data can be rebuilt from the stores at any time. The history's counts stay as
they are; an entry an editor rejected is never counted up again.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from indexer.learned import Entry, Learned, learned_to_update, wording_key, write_learned
from indexer.parse import parse_kb
from storage.feedback import COLUMNS, tied

FITS, MISFITS, GAP = ("copy", "up"), ("down",), "gap"
SOURCE = "feedback"
_AT, _QUESTION, _ARTICLE, _ACTION = (COLUMNS.index(c) for c in ("at", "question", "article_id", "action"))
_REQUEST, _CLIENT = COLUMNS.index("request_id"), COLUMNS.index("client")


@dataclass(frozen=True)
class FeedbackReport:
    votes: int  # tied rows read
    untied: int  # rows tied to no served answer: ignored
    clients: int
    wordings: int  # (article, wording) pairs learned from feedback
    new_wordings: int  # of which no entry existed before
    unanswered: int  # questions reported as KB gaps

    def summary(self) -> str:
        return (f"{self.votes} tied votes from {self.clients} clients ({self.untied} untied ignored): "
                f"{self.wordings} wordings supported ({self.new_wordings} new), {self.unanswered} KB-gap questions")


@dataclass
class _Tally:
    text: str  # the latest wording of this key
    first: dt.date
    last: dt.date
    fits: int = 0
    misfits: int = 0

    def see(self, text: str, day: dt.date) -> None:
        if day >= self.last:
            self.text = text
        self.first, self.last = min(self.first, day), max(self.last, day)


def fold_feedback(learned: Learned, rows: Iterable[tuple], cap: int, known_articles: set[str]) -> FeedbackReport:
    """Recompute the feedback part of ``learned`` from every feedback row (``storage.feedback.COLUMNS`` order)."""
    per_client: dict[tuple, int] = defaultdict(int)  # (client, day, key, article, action kind) → counted
    tallies: dict[tuple[str, str], _Tally] = {}  # (article or "", key) → tally ("" : gap reports)
    votes = untied = 0
    clients: set[str] = set()
    seen: set[tuple] = set()  # one vote per (request, article, kind), whatever older rows hold
    for row in rows:
        if not tied(row):
            untied += 1
            continue
        action, article = row[_ACTION], row[_ARTICLE] or ""
        kind = "fit" if action in FITS else "misfit" if action in MISFITS else GAP if action == GAP else None
        if kind is None or (kind != GAP and article not in known_articles):
            continue
        if (row[_REQUEST], article, kind) in seen:
            continue  # a copy and a 👍 on one answer are one fit
        seen.add((row[_REQUEST], article, kind))
        votes += 1
        client = row[_CLIENT] or row[_REQUEST]  # rows without a client: each answer its own
        clients.add(client)
        day, text = dt.date.fromisoformat(row[_AT][:10]), row[_QUESTION]
        key = wording_key(text)
        if not key:
            continue
        slot = (client, day, key, article, kind)
        if per_client[slot] >= cap:
            continue
        per_client[slot] += 1
        tally = tallies.setdefault((article, key), _Tally(text, day, day))
        tally.see(text, day)
        if kind == "misfit":
            tally.misfits += 1
        else:
            tally.fits += 1
    before = {(a, wording_key(e.text)) for a, entries in learned.wordings.items() for e in entries}
    _forget_feedback(learned)
    wordings = new = gaps = 0
    for (article, key), tally in sorted(tallies.items()):
        support = tally.fits - tally.misfits
        if support <= 0:
            continue
        if article:
            entries = learned.wordings.setdefault(article, [])
            wordings += 1
            new += (article, key) not in before
        else:
            entries = learned.unanswered
            gaps += 1
        _credit(entries, tally, support)
    _tidy(learned)
    return FeedbackReport(votes, untied, len(clients), wordings, new, gaps)


def _forget_feedback(learned: Learned) -> None:
    """Take the feedback's part out of every count (``_tidy`` then drops what is left empty)."""
    for group in (*learned.wordings.values(), learned.unanswered):
        for entry in group:
            entry.count -= entry.sources.pop(SOURCE, 0)


def _tidy(learned: Learned) -> None:
    """Drop the suggested entries no source supports any more; one an editor accepted or rejected stays (count ≥ 1)."""
    for group in (*learned.wordings.values(), learned.unanswered):
        group[:] = [e for e in group if e.count > 0 or e.state != "suggested"]
        for entry in group:
            entry.count = max(entry.count, 1)
    for article in [a for a, entries in learned.wordings.items() if not entries]:
        del learned.wordings[article]


def _credit(entries: list[Entry], tally: _Tally, support: int) -> None:
    for entry in entries:
        if wording_key(entry.text) == wording_key(tally.text):
            if entry.state != "rejected":
                entry.count += support
                entry.sources[SOURCE] = support
                entry.first_seen, entry.last_seen = min(entry.first_seen, tally.first), max(entry.last_seen, tally.last)
            return
    entries.append(Entry(tally.text, support, tally.first, tally.last, {SOURCE: support}))


def learn_from_feedback(kb: Path, rows: Iterable[tuple], cap: int,
                        dry_run: bool = False) -> tuple[FeedbackReport, Path | None]:
    """Recompute ``<kb>/_learned/``'s feedback counts from ``rows``; (report, the file written or None)."""
    learned = learned_to_update(kb)
    articles = {a.id for a in parse_kb(kb).articles}
    report = fold_feedback(learned, rows, cap, articles)
    return report, None if dry_run else write_learned(kb, learned)
