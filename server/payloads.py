"""Request parsing and validation: JSON bodies → search Queries, or ApiError."""
from __future__ import annotations

import datetime as dt
import json
import math
import re
from dataclasses import dataclass
from typing import Any

from flask import Request

from assist import ROLES, Turn
from report import Period, PeriodError, parse_period
from report.period import DEFAULT_DAYS
from retrieval import ARMS, Query
from retrieval import substance
from retrieval.fusion import METHODS as FUSION_METHODS

from .errors import ApiError
from storage.feedback import ACTIONS

TOP_K_RANGE = (1, 20)
MAX_INDEX_VERSION_CHARS = 100
MAX_NAME_CHARS = 200  # article ids, products, categories: far longer than any real one
MAX_WEIGHT = 100.0  # a per-request arm weight; bounded so that no sum of scores overflows to Infinity
MAX_DEPTH = 8  # the deepest valid body nests 3 levels (body → weights/filters → value)
SEARCH_OPTIONS = {"top_k", "filters", "product", "include_expired", "weights", "fusion"}  # read by search_options
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 parses as Infinity
        raise ValueError(f"{text} is not a finite number")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # Python's json would otherwise accept NaN and Infinity


class _HugeInteger:
    """An integer literal too long to be any valid value: Python refuses to parse past 4,300 digits, which
    read as "not valid JSON"; kept as this, it fails the field's own check with the field's own message."""


def _integer(text: str) -> Any:
    return int(text) if len(text) <= 100 else _HugeInteger()


class DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A key given twice is refused: which one would count differs between parsers (a proxy may check the first)."""
    body = dict(pairs)
    if len(body) != len(pairs):
        seen: set[str] = set()
        twice = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise DuplicateKey(f"the key {twice!r} appears twice in one object")
    return body


def json_body(request: Request) -> dict[str, Any]:
    """The body as a JSON object of finite numbers and real text, or a 4xx ApiError."""
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "send the body as JSON (Content-Type: application/json)")
    try:
        body = json.loads(request.get_data(), parse_float=_finite, parse_constant=_no_constant, parse_int=_integer,
                          object_pairs_hook=_unique_keys)
    except RecursionError:
        raise ApiError(400, "invalid_request", "the body nests too deeply") from None
    except DuplicateKey as exc:
        raise ApiError(400, "invalid_request", str(exc)) from None
    except ValueError:
        raise ApiError(400, "invalid_json", "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_request", "the body must be a JSON object")
    _check_tree(body)
    return body


def _check_tree(body: Any) -> None:
    """Refuse deep nesting and lone UTF-16 surrogates ("\\ud800"): valid JSON, but not text that
    can be stored, logged or sent back. Iterative, so no depth can exhaust the stack."""
    stack = [(body, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ApiError(400, "invalid_request", f"the body nests deeper than {MAX_DEPTH} levels")
        if isinstance(value, dict):
            stack.extend((item, depth + 1) for pair in value.items() for item in pair)
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, str) and not value.isascii() and _SURROGATE.search(value):
            raise ApiError(400, "invalid_request", "the body contains a lone UTF-16 surrogate, which is not text")


def _check_keys(body: dict, allowed: set[str], where: str = "body") -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ApiError(400, "invalid_request", f"unknown field(s) in {where}: {', '.join(unknown)}")


def question_text(value: Any, max_chars: int, field: str = "question") -> str:
    if value is None:
        raise ApiError(400, "invalid_request", f"'{field}' is required")
    if not isinstance(value, str):
        raise ApiError(400, "invalid_request", f"'{field}' must be a string")
    if not substance.visible(value):  # str.strip() keeps zero-width characters and the BOM
        raise ApiError(400, "invalid_request", f"'{field}' is empty")
    if len(value) > max_chars:
        raise ApiError(413, "question_too_long", f"'{field}' has {len(value)} characters; the limit is {max_chars}")
    return value.strip()


def _optional_str(body: dict, key: str, max_chars: int = MAX_NAME_CHARS) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, "invalid_request", f"'{key}' must be a non-empty string")
    if len(value) > max_chars:
        raise ApiError(400, "invalid_request", f"'{key}' has {len(value)} characters; the limit is {max_chars}")
    return value.strip()


def search_options(body: dict) -> dict[str, Any]:
    """The options shared by single and batch suggest: top_k, filters, product, weights, …"""
    top_k = body.get("top_k", 5)
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not TOP_K_RANGE[0] <= top_k <= TOP_K_RANGE[1]:
        raise ApiError(400, "invalid_request", f"'top_k' must be an integer from {TOP_K_RANGE[0]} to {TOP_K_RANGE[1]}")
    filters = body.get("filters") or {}
    if not isinstance(filters, dict):
        raise ApiError(400, "invalid_request", "'filters' must be an object")
    _check_keys(filters, {"category", "product"}, "filters")
    include_expired = body.get("include_expired")
    if include_expired is not None and not isinstance(include_expired, bool):
        raise ApiError(400, "invalid_request", "'include_expired' must be true or false")
    weights = body.get("weights")
    if weights is not None:
        if not isinstance(weights, dict) or not all(
                k in ARMS and isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= MAX_WEIGHT
                for k, v in weights.items()):
            raise ApiError(400, "invalid_request",
                           f"'weights' maps {', '.join(ARMS)} to numbers from 0 to {MAX_WEIGHT:g}")
    fusion = body.get("fusion")
    if fusion is not None and fusion not in FUSION_METHODS:
        raise ApiError(400, "invalid_request", f"'fusion' must be one of {', '.join(FUSION_METHODS)}")
    return {"top_k": top_k, "category": _optional_str(filters, "category"),
            "product": _optional_str(body, "product") or _optional_str(filters, "product"),
            "include_expired": include_expired, "weights": weights, "fusion": fusion}


def suggest_query(body: dict, max_chars: int) -> Query:
    _check_keys(body, {"question", "conversation"} | SEARCH_OPTIONS)
    return Query(question_text(body.get("question"), max_chars), **search_options(body))


def conversation(body: dict, max_turns: int, max_chars: int) -> tuple[Turn, ...]:
    """The optional earlier turns: a list of {"role": "customer"|"agent", "text": str}, oldest first."""
    turns = body.get("conversation")
    if turns is None:
        return ()
    if not isinstance(turns, list):
        raise ApiError(400, "invalid_request", "'conversation' must be a list of {role, text} turns")
    if len(turns) > max_turns:
        raise ApiError(413, "conversation_too_long", f"{len(turns)} turns; the limit is {max_turns}")
    out = []
    for i, turn in enumerate(turns):
        where = f"conversation[{i}]"
        if not isinstance(turn, dict):
            raise ApiError(400, "invalid_request", f"'{where}' must be an object {{role, text}}")
        _check_keys(turn, {"role", "text"}, where)
        if turn.get("role") not in ROLES:
            raise ApiError(400, "invalid_request", f"'{where}.role' must be one of {', '.join(ROLES)}")
        text = turn.get("text")
        if not isinstance(text, str):
            raise ApiError(400, "invalid_request", f"'{where}.text' must be a string")
        if len(text) > max_chars:
            raise ApiError(413, "turn_too_long", f"'{where}.text' has {len(text)} characters; the limit is {max_chars}")
        out.append(Turn(turn["role"], text.strip() if substance.visible(text) else ""))
    return tuple(t for t in out if t.text)


def batch_queries(body: dict, max_chars: int, max_batch: int, max_total_chars: int) -> list[Query]:
    _check_keys(body, {"questions"} | SEARCH_OPTIONS)
    questions = body.get("questions")
    if not isinstance(questions, list) or not questions:
        raise ApiError(400, "invalid_request", "'questions' must be a non-empty list of strings")
    if len(questions) > max_batch:
        raise ApiError(413, "batch_too_large", f"{len(questions)} questions; the limit is {max_batch}")
    options = search_options(body)
    queries = [Query(question_text(q, max_chars, f"questions[{i}]"), **options) for i, q in enumerate(questions)]
    total = sum(len(q.text) for q in queries)
    if total > max_total_chars:
        raise ApiError(413, "batch_too_large", f"the questions have {total} characters in all; the limit is "
                                               f"{max_total_chars} (split the batch)")
    return queries


_REQUEST_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class Vote:
    """What a feedback body says: which answer (its request_id), which of its articles, what the agent did."""

    request_id: str
    action: str
    article_id: str | None


def feedback_vote(body: dict, max_chars: int) -> Vote:
    """``question`` and ``index_version`` are still accepted from older sidebars and checked, but the stored
    question and version are those of the answer the request_id names."""
    _check_keys(body, {"request_id", "question", "action", "article_id", "index_version"})
    action = body.get("action")
    if action not in ACTIONS:
        raise ApiError(400, "invalid_request", f"'action' must be one of {', '.join(ACTIONS)}")
    request_id = body.get("request_id")
    if request_id is None:
        raise ApiError(400, "invalid_request", "'request_id' is required: the id /v1/suggest returned with the "
                                               "suggestions this feedback is about")
    if not isinstance(request_id, str) or not _REQUEST_ID.fullmatch(request_id):
        raise ApiError(400, "invalid_request", "'request_id' must be the string /v1/suggest returned")
    article_id = _optional_str(body, "article_id")
    if article_id is None and action != "gap":
        raise ApiError(400, "invalid_request", f"'article_id' is required for action '{action}'")
    if article_id is not None and action == "gap":
        raise ApiError(400, "invalid_request", "a 'gap' report names no article: none of the suggestions fits")
    _optional_str(body, "index_version", MAX_INDEX_VERSION_CHARS)
    if body.get("question") is not None:
        question_text(body.get("question"), max_chars)
    return Vote(request_id, action, article_id)


def report_period(args, utc_offset_hours: float, max_days: int, today: dt.date) -> Period:
    """``?since=YYYY-MM-DD&until=YYYY-MM-DD`` (until optional: a week) → a report Period, at most ``max_days``.
    Neither given: the week before the server's ``today`` (the shop's day), so that the admin page needs no clock
    of its own."""
    unknown = set(args) - {"since", "until"}
    if unknown:
        raise ApiError(400, "invalid_request", f"unknown parameter(s): {', '.join(sorted(unknown))}")
    since, until = args.get("since") or None, args.get("until") or None
    if since is None and until is not None:
        raise ApiError(400, "invalid_request", "since is required with until (YYYY-MM-DD)")
    if since is None:
        since, until = (today - dt.timedelta(days=DEFAULT_DAYS)).isoformat(), today.isoformat()
    try:
        return parse_period(since, until, utc_offset_hours, max_days)
    except PeriodError as exc:
        raise ApiError(400, "invalid_request", str(exc)) from None
