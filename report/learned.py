"""The learned data's to-do list: the wordings waiting for an editor's review and the questions the KB could not
answer, from ``<kb>/_learned/wordings.yaml`` (what ``import-chats`` and ``learn-feedback`` wrote), ranked by the
customers behind them, with what the agents actually replied beside the unanswered ones."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from indexer.learned import FILE, FOLDER, read_learned

SHOWN = 20


@dataclass(frozen=True)
class Wording:
    article_id: str
    text: str
    count: int
    sources: str  # "history 3, feedback 2"
    last_seen: str
    used: bool  # the build already uses it (count ≥ learned_min_support)


@dataclass(frozen=True)
class Unanswered:
    text: str
    count: int
    sources: str
    last_seen: str
    replies: tuple[str, ...]


@dataclass(frozen=True)
class Learned:
    where: str  # the file, or why there is none
    to_review: tuple[Wording, ...]
    unanswered: tuple[Unanswered, ...]
    found: bool


def _sources(sources: dict[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(sources.items()) if count)


def learned_figures(kb: Path | None, min_support: int) -> Learned:
    if kb is None or not (Path(kb) / FOLDER / FILE).is_file():
        where = f"{kb}/{FOLDER}/{FILE}" if kb is not None else f"{FOLDER}/{FILE}"
        return Learned(f"no learned data at {where} (python -m indexer import-chats / learn-feedback)", (), (), False)
    data, problems, _ = read_learned(Path(kb))
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        return Learned(f"{errors[0]} (fix it: nothing of it is used)", (), (), False)
    wordings = sorted((Wording(article, e.text, e.count, _sources(e.sources), e.last_seen.isoformat(),
                               e.used(min_support))
                       for article, entries in data.wordings.items() for e in entries if e.state == "suggested"),
                      key=lambda w: (-w.count, w.article_id, w.text))
    unanswered = sorted((Unanswered(e.text, e.count, _sources(e.sources), e.last_seen.isoformat(), tuple(e.replies))
                         for e in data.unanswered if e.state == "suggested"), key=lambda u: (-u.count, u.text))
    return Learned(f"{kb}/{FOLDER}/{FILE}", tuple(wordings), tuple(unanswered), True)
