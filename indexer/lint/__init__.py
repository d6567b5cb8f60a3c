"""Editors' checks beyond parsing, run by ``python -m indexer lint`` (never by the build):
platform compliance, contradictions between articles, stale content and coverage.

Each check reads the parsed articles and their files and returns ``Diagnostic``s with the
file and line to fix; parse.py stays about whether an article can be indexed at all.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from core.config import Config

from ..records import Article, Diagnostic
from .compliance import check_compliance, load_rules
from .contradictions import check_contradictions
from .freshness import check_coverage, check_stale


def run_checks(kb: Path, articles: tuple[Article, ...], config: Config,
               today: dt.date | None = None) -> list[Diagnostic]:
    """Every editor check over the articles that parsed, sorted by file and line."""
    kb = Path(kb)
    today = today or dt.date.today()
    lines = {a.path: _lines(kb / a.path) for a in articles}
    rules, found = load_rules(kb)
    found += check_compliance(articles, lines, rules)
    found += check_contradictions(articles, lines)
    found += check_stale(kb, articles, lines, today, config.expiry_warning_days, config.stale_after_days)
    found += check_coverage(articles, lines, config.min_questions)
    return sorted(found, key=lambda d: (d.path, d.line, d.message))


def _lines(path: Path) -> list[str]:
    from ..frontmatter import text_of

    return text_of(path.read_bytes()).split("\n")
