"""YAML in a KB: front matter between ``---`` lines (articles, the triage data's comfort lines) and the
YAML data files (``_assist/``, ``_scope/``), each problem reported as a Diagnostic at its line."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .records import Diagnostic

SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's when present: a cold build parses a lot


class _FrontMatterLoader(SAFE_LOADER):
    """Safe loader (libyaml's when present: a cold build parses every article) that keeps dates as text,
    so an invalid one is reported, not raised."""


_FrontMatterLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def split_front_matter(text: str, report) -> tuple[dict | None, str, int]:
    """(metadata, body, first body line); metadata None on broken YAML."""
    if not text.startswith("---\n"):
        return {}, text, 1
    end = text.find("\n---", 3)
    while end != -1 and text[end + 4: end + 5] not in ("\n", ""):
        end = text.find("\n---", end + 4)
    if end == -1:
        report(1, "error", "front matter starts with '---' but is never closed")
        return None, "", 1
    block = text[4:end + 1]
    body_line = block.count("\n") + 3
    try:
        meta = yaml.load(block, Loader=_FrontMatterLoader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        report(line, "error", f"broken YAML front matter: {reason}")
        return None, "", body_line
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        report(2, "error", "front matter must be a YAML mapping of fields")
        return None, "", body_line
    return meta, text[end + 5:], body_line


def text_of(raw: bytes) -> str:
    """An article file's text: UTF-8 without a BOM, with Unix line ends (line numbers count on it)."""
    return raw.decode("utf-8").lstrip("\ufeff").replace("\r\n", "\n")


def read_yaml(path: Path, rel: str) -> tuple[Any, str, Diagnostic | None]:
    """A KB data file's (data, text, problem): an undecodable file or broken YAML is one error at its
    line, data then None. A missing file raises FileNotFoundError: what it means is the caller's."""
    try:
        text = text_of(Path(path).read_bytes())
        return yaml.load(text, Loader=SAFE_LOADER), text, None  # noqa: S506 - a safe loader
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        return None, "", Diagnostic(rel, line, "error", f"unreadable {Path(path).name}: {exc}".splitlines()[0])
