"""Import stage: exported chats → aligned pairs → the KB's ``_learned/`` data, counted once per session.

Sessions already imported (their keys are in ``_learned/imported.txt``) are skipped, so importing the same export
twice adds nothing; an entry an editor rejected is never counted up again. Only masked text is ever written.
"""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from indexer.learned import Learned, learned_to_update, write_learned
from retrieval.search import Searcher

from .align import Pair, Settings, align
from .exports import Session


@dataclass(frozen=True)
class ImportReport:
    sessions: int  # read from the files
    new_sessions: int  # not imported before
    pairs: int  # customer questions with an agent answer
    answered: int  # mapped to an article
    unanswered: int  # answered from outside the KB
    unsure: int  # neither surely
    new_wordings: int
    path: Path | None  # the learned file written (None: a dry run)
    seconds: float

    def summary(self) -> str:
        where = f"wrote {self.path}" if self.path else "dry run: nothing written"
        return (f"{self.new_sessions} new of {self.sessions} sessions; {self.pairs} answered questions: "
                f"{self.answered} mapped to articles, {self.unanswered} outside the KB, {self.unsure} unsure; "
                f"{self.new_wordings} new wordings; {where} ({self.seconds:.1f}s)")


def fold(learned: Learned, pairs: Iterable[Pair]) -> int:
    """Count each pair into the learned data; returns how many wordings are new."""
    before = sum(len(entries) for entries in learned.wordings.values())
    for pair in pairs:
        day = pair.asked_at.date()
        if pair.kind == "answered":
            learned.add_wording(pair.article_id, pair.question, day, "history")
        elif pair.kind == "unanswered":
            learned.add_unanswered(pair.question, day, "history", pair.answer)
    return sum(len(entries) for entries in learned.wordings.values()) - before


def import_sessions(kb: Path, sessions: list[Session], searcher: Searcher, settings: Settings,
                    dry_run: bool = False, before: dt.date | None = None,
                    progress: Callable[[int], None] | None = None) -> ImportReport:
    """``before``: only sessions that started before that day (a time split's past)."""
    started = time.perf_counter()
    learned = learned_to_update(kb)
    fresh = [s for s in sessions if s.key not in learned.imported
             and (before is None or s.messages[0].at.date() < before)]
    pairs: list[Pair] = []
    for session in fresh:
        pairs.extend(align([session], searcher, settings))
        if progress:
            progress(1)
    new = fold(learned, pairs)
    learned.imported |= {s.key for s in fresh}
    path = None if dry_run else write_learned(kb, learned)
    kinds = [p.kind for p in pairs]
    return ImportReport(len(sessions), len(fresh), len(pairs), kinds.count("answered"), kinds.count("unanswered"),
                        kinds.count("unsure"), new, path, time.perf_counter() - started)
