"""Platform compliance: off-platform contact (站外引流) and absolute advertising claims (广告法),
from an editable word list (``<kb>/_lint/compliance.yaml``, else the default beside this file)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..records import Diagnostic

DEFAULT_RULES = Path(__file__).with_name("compliance.yaml")
KB_RULES = Path("_lint") / "compliance.yaml"


@dataclass(frozen=True)
class Rule:
    name: str
    severity: str
    why: str
    finders: tuple[re.Pattern, ...]  # each hit is a problem …
    allowed: tuple[re.Pattern, ...]  # … unless it lies inside one of these


def load_rules(kb: Path) -> tuple[list[Rule], list[Diagnostic]]:
    """The KB's word list, or the default; a broken list is itself reported (and the default used)."""
    path = Path(kb) / KB_RULES
    if not path.is_file():
        return _parse(yaml.safe_load(DEFAULT_RULES.read_text("utf-8"))), []
    rel = KB_RULES.as_posix()
    try:
        return _parse(yaml.safe_load(path.read_text("utf-8"))), []
    except (yaml.YAMLError, ValueError, TypeError, KeyError, re.error) as exc:
        problem = Diagnostic(rel, getattr(getattr(exc, "problem_mark", None), "line", 0) + 1, "error",
                             f"compliance word list unreadable ({exc}); the default list was used")
        return _parse(yaml.safe_load(DEFAULT_RULES.read_text("utf-8"))), [problem]


def _parse(data: dict) -> list[Rule]:
    rules = []
    for entry in data["rules"]:
        severity = entry.get("severity", "error")
        if severity not in ("error", "warning"):
            raise ValueError(f"severity {severity!r} is not error or warning")
        finders = [_word(w) for w in entry.get("words", [])] + [re.compile(p) for p in entry.get("patterns", [])]
        allowed = [re.compile(re.escape(str(a)), re.IGNORECASE) for a in entry.get("allowed", [])]
        allowed += [re.compile(p) for p in entry.get("allowed_patterns", [])]
        rules.append(Rule(str(entry["name"]), severity, str(entry.get("why", "")), tuple(finders), tuple(allowed)))
    return rules


def _word(word) -> re.Pattern:
    """An ASCII word counts only whole (``wx`` not in ``wxyz``); Chinese has no word boundaries."""
    text = str(word)
    if text.isascii() and text[:1].isalnum():
        return re.compile(rf"(?<![A-Za-z0-9]){re.escape(text)}(?![A-Za-z0-9])", re.IGNORECASE)
    return re.compile(re.escape(text), re.IGNORECASE)


def check_compliance(articles, lines: dict[str, list[str]], rules: list[Rule]) -> list[Diagnostic]:
    found = []
    for article in articles:
        for number, line in enumerate(lines[article.path], start=1):
            if _skip(line):
                continue
            for rule in rules:
                hits = _hits(line, rule)
                if hits:
                    quoted = "、".join(f"'{h}'" for h in hits)
                    found.append(Diagnostic(article.path, number, rule.severity,
                                            f"{rule.name}: {quoted} — {rule.why}"))
    return found


def _skip(line: str) -> bool:
    """Front-matter fields that hold no customer-facing text (ids, dates)."""
    return re.match(r"^(id|valid_from|valid_until|category):", line) is not None


def _hits(line: str, rule: Rule) -> list[str]:
    allowed = [m.span() for pattern in rule.allowed for m in pattern.finditer(line)]
    hits: list[tuple[int, str]] = []
    taken: list[tuple[int, int]] = []
    for finder in rule.finders:
        for match in finder.finditer(line):
            start, end = match.span()
            if any(a <= start and end <= b for a, b in allowed):
                continue
            if any(a <= start < b or start <= a < end for a, b in taken):
                continue  # 微信号 and 微信 on the same spot: one hit
            taken.append((start, end))
            hits.append((start, match.group(0)))
    return [text for _, text in sorted(hits)]
