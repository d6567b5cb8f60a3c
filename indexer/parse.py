"""Parse stage: a KB folder of Markdown articles (or a JSONL file) → Articles + Diagnostics.

Every problem is reported as a Diagnostic with a file and line, so editors can
jump straight to it; nothing here raises on a broken article.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .assist_data import parse_assist
from .frontmatter import split_front_matter as _split_front_matter, text_of as _text
from .learned import FILE as LEARNED_FILE, FOLDER as LEARNED_FOLDER, Learned, read_learned
from .markdown_text import HTML_TAG, markdown_to_text
from .records import Article, Diagnostic, Section, sha256_text
from .scope_data import parse_scope

KNOWN_FIELDS = ("id", "title", "category", "products", "questions", "tags", "valid_from", "valid_until")
REPLY_TEMPLATE_HEADING = "回复模板"
ID_PATTERN = re.compile(r"^[a-z0-9]+(?:[-/_][a-z0-9]+)*$")
HEADING = re.compile(r"^(#{2,3})\s+(.+?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")


@dataclass(frozen=True)
class ParsedKB:
    articles: tuple[Article, ...]
    diagnostics: tuple[Diagnostic, ...]
    content_hash: str  # over every source file, names included (the triage data's too)
    assist: dict | None = None  # the triage data of <kb>/_assist (see assist_data.py), when there is one
    scope: tuple[tuple[str, str], ...] = ()  # (topic, example) the shop does not handle (see scope_data.py)
    learned: Learned = field(default_factory=Learned)  # wordings mined from the shop's chats (see learned.py)

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity == "error")


def parse_kb(kb: Path, today: dt.date | None = None,
             progress: Callable[[int], Callable[[int], None]] | None = None) -> ParsedKB:
    """Parse a Markdown folder or a ``.jsonl`` file of ``{id, title, text}`` entries; ``progress(files)``
    returns the callback told of each parsed file."""
    kb = Path(kb)
    if kb.is_file() and kb.suffix == ".jsonl":
        return _parse_jsonl(kb)
    if not kb.is_dir():
        raise FileNotFoundError(f"KB not found: {kb} (expected a folder of .md files or a .jsonl file)")
    today = today or dt.date.today()
    files = sorted(p for p in kb.rglob("*.md") if p.name.lower() != "readme.md" and not _hidden(p, kb))
    diagnostics: list[Diagnostic] = []
    articles: list[Article] = []
    sources: dict[str, bytes] = {}
    hasher = hashlib.sha256()
    tick = progress(len(files)) if progress else None
    for path in files:
        rel = path.relative_to(kb).as_posix()
        raw = path.read_bytes()
        hasher.update(rel.encode() + b"\0" + raw + b"\0")
        article, found = parse_article(rel, raw, today)
        diagnostics.extend(found)
        if article is not None:
            articles.append(article)
            sources[rel] = raw
        if tick:
            tick(1)

    def where(article: Article, key: str, value: str) -> tuple[str, int]:
        """Decoded again only for the rare article with a cross-article problem."""
        return article.path, _front_matter_line(_text(sources[article.path]), key, value)

    articles, cross = _check_across(articles, where)
    diagnostics.extend(cross)
    assist, found, assist_hash = parse_assist(kb)
    diagnostics.extend(found)
    if assist_hash:
        hasher.update(b"_assist\0" + assist_hash.encode())
    scope, found = parse_scope(kb)
    diagnostics.extend(found)
    hasher.update(b"_scope\0" + json.dumps(scope, ensure_ascii=False).encode())
    learned, found, learned_hash = read_learned(kb)
    diagnostics.extend(found)
    diagnostics.extend(_unknown_learned_articles(learned, {a.id for a in articles}))
    if learned_hash:
        hasher.update(b"_learned\0" + learned_hash.encode())
    diagnostics.sort(key=lambda d: (d.path, d.line))
    return ParsedKB(tuple(articles), tuple(diagnostics), hasher.hexdigest(), assist, scope, learned)


def _unknown_learned_articles(learned: Learned, ids: set[str]) -> list[Diagnostic]:
    """A learned wording of an article since removed or renamed: a warning (unused), not an error."""
    return [Diagnostic(f"{LEARNED_FOLDER}/{LEARNED_FILE}", 1, "warning",
                       f"wordings of {article!r}, which is no article of the KB: unused")
            for article in sorted(set(learned.wordings) - ids)]


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith((".", "_")) for part in path.relative_to(root).parts)


def parse_article(rel: str, raw: bytes, today: dt.date) -> tuple[Article | None, list[Diagnostic]]:
    """One file → (Article or None when it has errors, its diagnostics)."""
    problems: list[Diagnostic] = []

    def report(line: int, severity: str, message: str) -> None:
        problems.append(Diagnostic(rel, line, severity, message))

    try:
        text = _text(raw)
    except UnicodeDecodeError as exc:
        report(raw[: exc.start].count(b"\n") + 1, "error", "file is not valid UTF-8")
        return None, problems
    meta, body, body_line = _split_front_matter(text, report)
    if meta is None:
        return None, problems

    def line_of(key: str) -> int:
        return _front_matter_line(text, key)

    for key in meta:
        if key not in KNOWN_FIELDS:
            report(line_of(str(key)), "warning", f"unknown field '{key}' (known: {', '.join(KNOWN_FIELDS)})")

    default_id = rel[: -len(".md")].lower()
    article_id = meta.get("id", default_id)
    if not isinstance(article_id, str) or not ID_PATTERN.match(article_id):
        report(line_of("id"), "error",
               f"id {article_id!r} must be ascii-kebab, like 'returns-7-day' (set 'id:' explicitly)")
    title = meta.get("title")
    if not isinstance(title, str) or not title.strip():
        report(line_of("title") if "title" in meta else 1, "error", "missing title")
    category = meta.get("category", rel.split("/")[0] if "/" in rel else "general")
    lists = {}
    for key in ("products", "questions", "tags"):
        value = meta.get(key, [])
        if value is None:
            value = []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
            report(line_of(key), "error", f"'{key}' must be a list of strings")
            value = []
        lists[key] = tuple(str(v).strip() for v in value if str(v).strip())
    if len(lists["questions"]) > 5:  # too few is lint's coverage check (setting min_questions)
        report(line_of("questions"), "warning", f"'questions' lists {len(lists['questions'])} phrasings; 2–5 work best")
    dates = {}
    for key in ("valid_from", "valid_until"):
        dates[key] = _date(meta.get(key), key, line_of(key), report)
    if dates["valid_from"] and dates["valid_until"] and dates["valid_from"] > dates["valid_until"]:
        report(line_of("valid_until"), "error", "valid_until is before valid_from")
    if dates["valid_until"] and dates["valid_until"] < today:
        report(line_of("valid_until"), "warning",
               f"article expired on {dates['valid_until'].isoformat()}; it is no longer suggested")

    for number, tag in raw_html(body, body_line):
        report(number, "warning", f"raw HTML {tag}: the sidebar shows it sanitised and copied text leaves it out; "
                                  "write it in Markdown")
    sections, template = _sections(body, body_line, title if isinstance(title, str) else "")
    if not any(s.text.strip() for s in sections):
        report(body_line, "error", "empty body: the article has no text besides its front matter")
    if any(p.severity == "error" for p in problems):
        return None, problems
    return Article(
        id=article_id, title=title.strip(), category=str(category).strip(), path=rel,
        products=lists["products"], questions=lists["questions"], tags=lists["tags"],
        valid_from=dates["valid_from"], valid_until=dates["valid_until"],
        sections=tuple(sections), reply_template=template, body=body.strip(),
        content_hash=sha256_text(text),
    ), problems


def _front_matter_line(text: str, key: str, value: str | None = None) -> int:
    """Line of a front-matter field (of the line naming ``value`` within it, when given); 1 if absent."""
    lines = text.split("\n")
    if not lines or lines[0] != "---":
        return 1
    start = None
    for number, line in enumerate(lines[1:], start=2):
        if line.startswith("---"):
            break
        if start is None and line.startswith(key + ":"):
            start = number
        if start is not None and value is not None and value in line:
            return number
    return start or 1


def _date(value, key: str, line: int, report) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        report(line, "error", f"invalid date in {key}: {value!r} (use YYYY-MM-DD)")
        return None


_FENCE = re.compile(r"^\s*(```|~~~)")
_CODE_SPAN = re.compile(r"`[^`]*`")


def raw_html(body: str, first_line: int) -> list[tuple[int, str]]:
    """(line, tag) of each HTML tag written into the Markdown, outside code: a template's ``<img onerror=…>``
    went to customers verbatim, and nothing said so."""
    found, fenced = [], False
    for offset, line in enumerate(body.split("\n")):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            found += [(first_line + offset, m.group()[:40]) for m in HTML_TAG.finditer(_CODE_SPAN.sub("", line))]
    return found


def _sections(body: str, first_line: int, title: str) -> tuple[list[Section], str]:
    """Split at ## and ### headings (outside code fences); pull out the reply template."""
    parts: list[tuple[tuple[str, ...], int, list[str]]] = [((), first_line, [])]
    h2 = ""
    in_fence = False
    for offset, line in enumerate(body.split("\n")):
        if FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else HEADING.match(line)
        if match:
            level, heading = len(match.group(1)), match.group(2).strip()
            if level == 2:
                h2 = heading
                path = (heading,)
            else:
                path = (h2, heading) if h2 else (heading,)
            parts.append((path, first_line + offset, []))
        else:
            parts[-1][2].append(line)
    sections: list[Section] = []
    template = ""
    anchors: set[str] = set()
    for path, line, lines in parts:
        md = "\n".join(lines).strip()
        if path and path[0] == REPLY_TEMPLATE_HEADING:
            template = (template + "\n" + markdown_to_text(md)).strip() if md else template
            continue
        if not md:
            continue
        anchor = _unique(slugify(path[-1] if path else title) or "intro", anchors)
        sections.append(Section(path or (title,), anchor, md, markdown_to_text(md), line))
    return sections, template


def slugify(heading: str) -> str:
    """GitHub-style anchor: lowercase, punctuation dropped, spaces to '-'; CJK kept."""
    slug = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return re.sub(r"\s+", "-", slug)


def _unique(anchor: str, seen: set[str]) -> str:
    candidate, n = anchor, 1
    while candidate in seen:
        n += 1
        candidate = f"{anchor}-{n}"
    seen.add(candidate)
    return candidate


Locate = Callable[[Article, str, str], tuple[str, int]]  # (article, field, value) → (file, line)


def _check_across(articles: list[Article], where: Locate) -> tuple[list[Article], list[Diagnostic]]:
    """Duplicate ids (an error: both are dropped) and phrasings shared by two articles,
    each reported at the line that says it."""
    problems: list[Diagnostic] = []
    by_id: dict[str, list[Article]] = {}
    for article in articles:
        by_id.setdefault(article.id, []).append(article)
    kept = []
    for article in articles:
        same = by_id[article.id]
        if len(same) > 1:
            others = ", ".join(a.path for a in same if a is not article)
            problems.append(Diagnostic(*where(article, "id", article.id), "error",
                                       f"duplicate id '{article.id}' (also in {others})"))
        else:
            kept.append(article)
    owner: dict[str, Article] = {}
    for article in kept:
        for question in article.questions:
            key = _normalize_phrasing(question)
            first = owner.setdefault(key, article)
            if first is not article:
                problems.append(Diagnostic(*where(article, "questions", question), "warning",
                                           f"phrasing '{question}' is also listed under '{first.id}' ({first.path})"))
    return kept, problems


def _normalize_phrasing(text: str) -> str:
    return re.sub(r"[\s\W_]+", "", text.lower())


def _parse_jsonl(path: Path) -> ParsedKB:
    """A flat KB of ``{"id", "title", "text"}`` lines, e.g. an external benchmark's."""
    articles: list[Article] = []
    problems: list[Diagnostic] = []
    raw = path.read_bytes()
    rel = path.name
    for number, line in enumerate(raw.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            article_id, title, text = str(entry["id"]), str(entry.get("title") or ""), str(entry["text"])
        except (ValueError, KeyError, TypeError) as exc:
            problems.append(Diagnostic(rel, number, "error", f"bad KB line: {exc}"))
            continue
        heading = title or text[:30]
        section = Section((heading,), "text", text, text, number)
        articles.append(Article(id=article_id, title=heading, category=str(entry.get("category", "")),
                                path=f"{rel}:{number}", sections=(section,), body=text,
                                content_hash=sha256_text(line)))
    def where(article: Article, key: str, value: str) -> tuple[str, int]:
        return rel, article.sections[0].line  # an entry is one line, one section

    articles, cross = _check_across(articles, where)
    scope, _ = parse_scope(None)
    return ParsedKB(tuple(articles), tuple(problems + cross), hashlib.sha256(raw).hexdigest(), scope=scope)
