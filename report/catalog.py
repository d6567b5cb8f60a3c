"""The articles a report judges: those of the published index (what agents were shown), or of a KB folder
as the editors have it now (``--kb``)."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from indexer.parse import parse_kb
from indexer.records import Article
from indexer.store import IndexLoadError, article_from_json, read_manifest, resolve, sha256_file


@dataclass(frozen=True)
class Articles:
    by_id: dict[str, Article]
    source: str  # "index <version>" or "kb <folder>", said in the report


def published_articles(index: Path) -> Articles:
    """The articles of the version ``index`` publishes (a root with CURRENT, or one version's folder),
    checked against the manifest's checksum; IndexLoadError when there is none."""
    directory = resolve(Path(index))
    manifest = read_manifest(directory)
    path = directory / "articles.json"
    expected = manifest["files"].get("articles.json")
    if not path.exists() or (expected and sha256_file(path) != expected):
        raise IndexLoadError(f"{directory}: articles.json is missing or damaged; rebuild the index")
    articles = [article_from_json(a) for a in json.loads(path.read_text("utf-8"))]
    return Articles({a.id: a for a in articles}, f"index {manifest['version']}")


def kb_articles(kb: Path, today: dt.date) -> Articles:
    """The KB folder's articles as they are now (FileNotFoundError when it is not there)."""
    parsed = parse_kb(Path(kb), today)
    return Articles({a.id: a for a in parsed.articles}, f"kb {kb}")
