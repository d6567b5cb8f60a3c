"""The shop's learned data (``<kb>/_learned/``): its customers' own wordings per article and the questions its KB
could not answer, mined from its past chats (``python -m indexer import-chats``). It is KB data the editors own:
a YAML file diffable in git, each entry with a review state:

    wordings:
      shipping-time:
      - text: 发货没
        count: 12                 # customers behind it
        first_seen: 2026-05-25
        last_seen: 2026-11-20
        from: {history: 12}
        state: suggested          # suggested | accepted | rejected
    unanswered:
    - text: 能开专票吗
      count: 3
      first_seen: …
      last_seen: …
      replies: [亲，我们目前只开普票哦]   # what the agents actually answered (masked)
      state: suggested

The build adds a wording to its article's known questions (the questions arm, and a training query for the ranker)
when it is ``accepted``, or ``suggested`` with ``count`` ≥ the ``learned_min_support`` setting; ``rejected`` never.
``imported.txt`` lists the imported sessions' keys (hashes), so that importing the same export twice adds nothing.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import yaml

from .frontmatter import read_yaml
from .records import Diagnostic

FOLDER = "_learned"
FILE = "wordings.yaml"
IMPORTED = "imported.txt"
STATES = ("suggested", "accepted", "rejected")
SOURCES = ("history", "feedback")
ENTRY_KEYS = {"text", "count", "first_seen", "last_seen", "from", "state", "replies"}
MAX_REPLIES = 3  # agents' replies kept beside an unanswered question
_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)
HEADER = ("# Learned from this shop's past chats (python -m indexer import-chats). Review each entry: state is\n"
          "# suggested (used by the build once count >= learned_min_support), accepted (always used) or rejected\n"
          "# (never used, and never suggested again). Edit states freely; counts grow with each import.\n")


def wording_key(text: str) -> str:
    """Two wordings that differ only in spacing, punctuation or case are one wording."""
    return _NOISE.sub("", text).lower()


@dataclass
class Entry:
    text: str
    count: int
    first_seen: dt.date
    last_seen: dt.date
    sources: dict[str, int] = field(default_factory=dict)
    state: str = "suggested"
    replies: list[str] = field(default_factory=list)

    def used(self, min_support: int) -> bool:
        return self.state == "accepted" or (self.state == "suggested" and 0 < min_support <= self.count)

    def add(self, day: dt.date, source: str, reply: str | None = None) -> None:
        self.count += 1
        self.first_seen, self.last_seen = min(self.first_seen, day), max(self.last_seen, day)
        self.sources[source] = self.sources.get(source, 0) + 1
        if reply and reply not in self.replies and len(self.replies) < MAX_REPLIES:
            self.replies.append(reply)

    def to_yaml(self, with_replies: bool) -> dict:
        out = {"text": self.text, "count": self.count, "first_seen": self.first_seen.isoformat(),
               "last_seen": self.last_seen.isoformat(), "from": dict(sorted(self.sources.items())),
               "state": self.state}
        if with_replies:
            out["replies"] = list(self.replies)
        return out


@dataclass
class Learned:
    wordings: dict[str, list[Entry]] = field(default_factory=dict)  # article id → entries
    unanswered: list[Entry] = field(default_factory=list)
    imported: set[str] = field(default_factory=set)

    def phrasings(self, min_support: int, article_ids: Iterable[str]) -> list[tuple[str, str]]:
        """(article id, wording) the build adds to the articles' known questions."""
        known = set(article_ids)
        return [(article, entry.text) for article, entries in self.wordings.items() if article in known
                for entry in entries if entry.used(min_support)]

    def add_wording(self, article: str, text: str, day: dt.date, source: str) -> None:
        _add(self.wordings.setdefault(article, []), text, day, source)

    def add_unanswered(self, text: str, day: dt.date, source: str, reply: str) -> None:
        _add(self.unanswered, text, day, source, reply)

    def dump(self) -> str:
        data = {"wordings": {article: [e.to_yaml(False) for e in sorted(entries, key=lambda e: (-e.count, e.text))]
                             for article, entries in sorted(self.wordings.items())},
                "unanswered": [e.to_yaml(True) for e in sorted(self.unanswered, key=lambda e: (-e.count, e.text))]}
        return HEADER + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000)


def _add(entries: list[Entry], text: str, day: dt.date, source: str, reply: str | None = None) -> None:
    key = wording_key(text)
    for entry in entries:
        if wording_key(entry.text) == key:
            if entry.state != "rejected":
                entry.add(day, source, reply)
            return
    entry = Entry(text, 0, day, day)
    entry.add(day, source, reply)
    entries.append(entry)


def read_learned(kb: Path) -> tuple[Learned, list[Diagnostic], str]:
    """(the learned data, diagnostics, content hash of its files). On an error the file is reported and nothing of
    it is used (an empty Learned), so that a broken edit never feeds the ranking half a file."""
    folder = Path(kb) / FOLDER
    digest = hashlib.sha256()
    learned = Learned()
    if (folder / IMPORTED).is_file():
        raw = (folder / IMPORTED).read_bytes()
        learned.imported = {line.strip() for line in raw.decode("utf-8", "replace").splitlines() if line.strip()}
    path = folder / FILE
    if not path.is_file():
        return learned, [], ""
    raw = path.read_bytes()
    digest.update(raw)
    rel = f"{FOLDER}/{FILE}"
    data, _, problem = read_yaml(path, rel)
    if problem is not None:
        return Learned(imported=learned.imported), [problem], digest.hexdigest()
    found: list[Diagnostic] = []
    data = data or {}
    if not isinstance(data, dict) or set(data) - {"wordings", "unanswered"}:
        return Learned(imported=learned.imported), [Diagnostic(rel, 1, "error", f"{FILE} must be a mapping with "
                                                               "'wordings' and/or 'unanswered'")], digest.hexdigest()
    wordings = data.get("wordings") or {}
    if not isinstance(wordings, dict):
        found.append(Diagnostic(rel, 1, "error", "'wordings' must map article ids to lists of entries"))
        wordings = {}
    for article, entries in wordings.items():
        if not isinstance(entries, list):
            found.append(Diagnostic(rel, 1, "error", f"wordings of {article!r} must be a list"))
            continue
        learned.wordings[str(article)] = [e for e in (_entry(raw, f"{article}", rel, found) for raw in entries) if e]
    unanswered = data.get("unanswered") or []
    if not isinstance(unanswered, list):
        found.append(Diagnostic(rel, 1, "error", "'unanswered' must be a list of entries"))
        unanswered = []
    learned.unanswered = [e for e in (_entry(raw, "unanswered", rel, found) for raw in unanswered) if e]
    if any(d.severity == "error" for d in found):
        return Learned(imported=learned.imported), found, digest.hexdigest()
    return learned, found, digest.hexdigest()


def learned_to_update(kb: Path) -> Learned:
    """The learned data a step is about to add to: ValueError (nothing changed) when the file has an error, so that
    an import or a feedback run never writes over an editor's half-finished edit."""
    learned, problems, _ = read_learned(kb)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ValueError(f"{errors[0]}: fix it before learning more (nothing was changed)")
    return learned


def _entry(raw, where: str, rel: str, found: list[Diagnostic]) -> Entry | None:
    def bad(message: str) -> None:
        found.append(Diagnostic(rel, 1, "error", f"{where}: {message}"))

    if not isinstance(raw, dict):
        return bad("each entry must be a mapping with text, count, first_seen, last_seen, state")
    unknown = set(raw) - ENTRY_KEYS
    if unknown:
        return bad(f"unknown key(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(ENTRY_KEYS))})")
    text, count, state = raw.get("text"), raw.get("count", 1), raw.get("state", "suggested")
    if not isinstance(text, str) or not text.strip():
        return bad("an entry needs a text")
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        return bad(f"{text!r}: count must be a positive whole number")
    if state not in STATES:
        return bad(f"{text!r}: state must be one of {', '.join(STATES)}, not {state!r}")
    try:
        first = _day(raw.get("first_seen"))
        last = _day(raw.get("last_seen", raw.get("first_seen")))
    except ValueError:
        return bad(f"{text!r}: first_seen and last_seen must be dates (YYYY-MM-DD)")
    sources = raw.get("from") or {}
    if not isinstance(sources, dict) or set(sources) - set(SOURCES) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in sources.values()):
        return bad(f"{text!r}: 'from' must map {' / '.join(SOURCES)} to counts")
    replies = raw.get("replies") or []
    if not isinstance(replies, list) or not all(isinstance(r, str) for r in replies):
        return bad(f"{text!r}: replies must be a list of texts")
    return Entry(text.strip(), count, first, last, dict(sources), state, list(replies))


def _day(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def write_learned(kb: Path, learned: Learned) -> Path:
    """Write both files atomically (a temp file renamed over the old one): an interrupted import loses nothing."""
    folder = Path(kb) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    _atomic_write(folder / FILE, learned.dump())
    _atomic_write(folder / IMPORTED, "".join(f"{key}\n" for key in sorted(learned.imported)))
    return folder / FILE


def _atomic_write(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    try:
        temp.write_text(text, encoding="utf-8")
        temp.replace(path)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise OSError(exc.errno, f"cannot write {path}: {exc.strerror}") from None
