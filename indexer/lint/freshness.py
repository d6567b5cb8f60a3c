"""Stale content (an article about to expire, or not edited for a long time) and coverage
(too few ``questions:`` phrasings for customers' wordings to match)."""
from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

from ..records import Diagnostic


def check_stale(kb: Path, articles, lines: dict[str, list[str]], today: dt.date, expiry_days: int,
                stale_days: int) -> list[Diagnostic]:
    found = []
    for article in articles:
        until = article.valid_until
        if until and today <= until <= today + dt.timedelta(days=expiry_days):
            left = (until - today).days
            found.append(Diagnostic(article.path, _field_line(lines[article.path], "valid_until"), "warning",
                                    f"expires on {until.isoformat()} (in {left} day(s)): renew it, write its "
                                    f"successor, or let it lapse on purpose"))
    if stale_days <= 0:
        return found
    edited = last_edited(kb, [a.path for a in articles], today)
    for article in articles:
        if article.valid_until and article.valid_until < today:
            continue  # already reported as expired by parse
        when = edited.get(article.path)
        if when is not None and (today - when).days > stale_days:
            found.append(Diagnostic(article.path, 1, "warning",
                                    f"not edited since {when.isoformat()} ({(today - when).days} days; setting "
                                    f"stale_after_days={stale_days}): check that it still holds"))
    return found


def check_coverage(articles, lines: dict[str, list[str]], minimum: int) -> list[Diagnostic]:
    found = []
    for article in articles:
        count = len(article.questions)
        if count == 0:
            found.append(Diagnostic(article.path, 1, "warning",
                                    "no 'questions:' phrasings: only the title and the text can match customers' "
                                    "wordings; add 2–5 ways customers ask it"))
        elif count < minimum:
            found.append(Diagnostic(article.path, _field_line(lines[article.path], "questions"), "warning",
                                    f"only {count} 'questions:' phrasing(s); at least {minimum} wanted (setting "
                                    f"min_questions)"))
    return found


def last_edited(kb: Path, paths: list[str], today: dt.date) -> dict[str, dt.date]:
    """Each file's last edit: its last commit date in git (an uncommitted change counts as today),
    else the file's modification time. One ``git log`` call for the whole KB."""
    kb = Path(kb)
    dates = {p: dt.date.fromtimestamp((kb / p).stat().st_mtime) for p in paths}
    try:
        prefix = _git(kb, "rev-parse", "--show-prefix").strip()  # the KB's folder inside the repository
        log = _git(kb, "log", "--format=%x00%cs", "--name-only", "--relative", "--", ".")
        dirty = _git(kb, "status", "--porcelain", "--untracked-files=all", "--", ".")
    except (OSError, subprocess.SubprocessError):
        return dates  # not a git checkout (or no git): modification times
    committed: dict[str, dt.date] = {}
    day = None
    for line in log.split("\n"):
        if line.startswith("\0"):
            day = dt.date.fromisoformat(line[1:].strip())
        elif line.strip() and day is not None:
            committed.setdefault(line.strip(), day)
    changed = {line[3:].strip().strip('"').removeprefix(prefix) for line in dirty.split("\n") if line.strip()}
    for path in paths:
        if path in committed and path not in changed:
            dates[path] = committed[path]
        elif path in changed:
            dates[path] = today
    return dates


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "core.quotepath=off", *args], cwd=cwd, capture_output=True, text=True,
                          check=True, timeout=30).stdout


def _field_line(lines: list[str], key: str) -> int:
    for number, line in enumerate(lines, start=1):
        if number > 1 and line.startswith("---"):
            break
        if line.startswith(key + ":"):
            return number
    return 1
