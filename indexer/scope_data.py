"""Parse stage for what the shop does not handle (拒识问法): example questions by topic.

Every index carries the shipped defaults (``defaults/out_of_scope.yaml``: recruiting, franchising, other
platforms' orders, medical advice, chit-chat, …), which every online shop is asked and none answers from
its KB. A KB adds its own topics in ``<kb>/_scope/out_of_scope.yaml`` and may switch defaults off:

    topics:
      维修上门: [能上门帮我修吗, 师傅可以来家里装吗]
    drop: [线下门店]      # this shop's KB does answer it

A question nearer to one of these examples than to any article is not answered confidently
(``retrieval.scope``).
"""
from __future__ import annotations

import functools
from pathlib import Path

from .frontmatter import read_yaml
from .records import Diagnostic

FOLDER = "_scope"
FILE = "out_of_scope.yaml"
DEFAULTS = Path(__file__).parent / "defaults" / FILE


@functools.lru_cache(maxsize=1)
def _defaults() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Read once per process: every parse starts from them. A problem here is a packaging bug, not the KB's."""
    found: list[Diagnostic] = []
    data, _, problem = read_yaml(DEFAULTS, f"<built-in>/{FOLDER}/{FILE}")
    topics = _topics((data or {}).get("topics"), "defaults", found) if problem is None else {}
    if problem is not None or found:
        raise RuntimeError(f"the built-in out-of-scope examples are broken: {(problem or found[0]).message}")
    return tuple((name, tuple(examples)) for name, examples in topics.items())


def default_topics() -> dict[str, list[str]]:
    return {name: list(examples) for name, examples in _defaults()}


def parse_scope(kb: Path | None) -> tuple[tuple[tuple[str, str], ...], list[Diagnostic]]:
    """((topic, example) pairs, diagnostics): the defaults less the dropped ones, plus the KB's own.
    On an error the KB's file is reported and the defaults alone are returned."""
    topics = default_topics()
    path = Path(kb) / FOLDER / FILE if kb is not None else None
    if path is None or not path.is_file():
        return _pairs(topics), []
    rel = f"{FOLDER}/{FILE}"
    data, _, problem = read_yaml(path, rel)
    if problem is not None:
        return _pairs(topics), [problem]
    data = data or {}
    if not isinstance(data, dict) or set(data) - {"topics", "drop"}:
        return _pairs(topics), [Diagnostic(rel, 1, "error", f"{FILE} must be a mapping with 'topics' and/or 'drop'")]
    found: list[Diagnostic] = []
    drop = data.get("drop") or []
    if not isinstance(drop, list) or not all(isinstance(d, str) for d in drop):
        found.append(Diagnostic(rel, 1, "error", "'drop' must be a list of default topic names"))
    own = _topics(data.get("topics") or {}, rel, found)
    if found:
        return _pairs(topics), found
    for name in drop:
        if name not in topics:
            found.append(Diagnostic(rel, 1, "warning", f"'drop' names {name!r}, which is no default topic "
                                                       f"({', '.join(topics)})"))
        topics.pop(name, None)
    for name, examples in own.items():
        topics[name] = topics.get(name, []) + examples
    return _pairs(topics), found


def _topics(raw, where: str, found: list[Diagnostic]) -> dict[str, list[str]]:
    if not isinstance(raw, dict) or not all(
            isinstance(v, list) and v and all(isinstance(x, str) and x.strip() for x in v) for v in raw.values()):
        found.append(Diagnostic(where, 1, "error", "'topics' must map each topic name to a list of example questions"))
        return {}
    return {str(name): [x.strip() for x in examples] for name, examples in raw.items()}


def _pairs(topics: dict[str, list[str]]) -> tuple[tuple[str, str], ...]:
    return tuple((name, text) for name, examples in topics.items() for text in dict.fromkeys(examples))
