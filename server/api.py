"""The public API (the agents' sidebar calls it, CORS where configured): suggest, batch, articles, facets, feedback.

Each app gets its own blueprint (``blueprint(config)``), carrying its own CORS: a route added here gets it, a route
anywhere else never does.
"""
from __future__ import annotations

import dataclasses
import time

from flask import Blueprint, jsonify, request

from assist import Answer
from core.config import Config
from indexer.markdown_text import render_html
from storage import querylog
from storage.feedback import FeedbackEvent

from . import current, guard, payloads
from .errors import ApiError


def blueprint(config: Config) -> Blueprint:
    bp = Blueprint("public", __name__)
    bp.add_url_rule("/v1/suggest", view_func=suggest, methods=["POST"])
    bp.add_url_rule("/v1/suggest/batch", view_func=suggest_batch, methods=["POST"])
    bp.add_url_rule("/v1/articles/<path:article_id>", view_func=article, methods=["GET"])
    bp.add_url_rule("/v1/facets", view_func=facets, methods=["GET"])
    bp.add_url_rule("/v1/feedback", view_func=feedback, methods=["POST"])
    if config.cors_origins:
        from flask_cors import CORS

        origins = "*" if "*" in config.cors_origins else list(config.cors_origins)
        CORS(bp, origins=origins, methods=["GET", "POST", "OPTIONS"], allow_headers=["Content-Type"])
    return bp


def _result(answer: Answer, request_id: str) -> dict:
    result = answer.result
    return {
        "request_id": request_id,
        "suggestions": [
            {**{f.name: getattr(s, f.name) for f in dataclasses.fields(s)}, "score": round(s.score, 6),
             "scores": {arm: round(value, 4) for arm, value in s.scores.items()},
             "highlights": [list(h) for h in s.highlights], "products": list(s.products),
             "other_sections": list(s.other_sections)}  # shallow: asdict deep-copies every value
            for s in result.suggestions
        ],  # the search keeps exact values for its decisions; the response shows them rounded
        "confident": result.confident,
        "confidence": round(result.confidence, 4),
        "unconfident_reason": result.unconfident_reason,
        "out_of_scope": dataclasses.asdict(result.out_of_scope) if result.out_of_scope else None,
        "products_detected": list(result.products_detected),
        "triage": answer.triage.to_json() if answer.triage else None,
        "comfort": answer.comfort.to_json() if answer.comfort else None,
        "index_version": result.index_version,
        "took_ms": round(answer.took_ms, 3),
    }


def _deadline() -> float:
    """When this request must be answered by (monotonic clock): past it, 503 deadline_exceeded."""
    return time.monotonic() + current.config().deadline_s


def _log(question: str, answer: Answer, endpoint: str, request_id: str) -> None:
    """Count the answer (/metrics) and hand it to the query log's writer thread (masked there); returns at once."""
    current.metrics().answered(answer, endpoint)
    query_log = current.stores().query_log
    if query_log.enabled:
        query_log.record(querylog.entry_of(answer, question, endpoint, request_id))


def _remember(question: str, answer: Answer) -> str:
    """The request id the feedback on this answer names (``server.served``)."""
    result = answer.result
    return current.served().remember(question, tuple(s.article_id for s in result.suggestions), result.index_version)


def suggest():
    config = current.config()
    deadline = _deadline()
    body = payloads.json_body(request)
    query = payloads.suggest_query(body, config.max_question_chars)
    turns = payloads.conversation(body, config.max_conversation_turns, config.max_turn_chars)
    answer = current.assistant().answer(query, turns, deadline=deadline)
    request_id = _remember(query.text, answer)
    _log(query.text, answer, "suggest", request_id)
    return jsonify(_result(answer, request_id))


def suggest_batch():
    deadline = _deadline()
    config = current.config()
    queries = payloads.batch_queries(payloads.json_body(request), config.max_question_chars, config.max_batch,
                                     config.max_batch_chars)
    started = time.perf_counter()
    assistant = current.assistant()
    answers = [assistant.answer(q, deadline=deadline) for q in queries]
    request_ids = [_remember(q.text, a) for q, a in zip(queries, answers)]
    for query, answer, request_id in zip(queries, answers, request_ids):  # each question its own row and time
        _log(query.text, answer, "batch", request_id)
    return jsonify({"results": [_result(a, r) for a, r in zip(answers, request_ids)],
                    "index_version": assistant.searcher.index.version,
                    "took_ms": round((time.perf_counter() - started) * 1000, 3)})


def article(article_id: str):
    searcher = current.searcher()
    found = searcher.articles.get(article_id)
    if found is None:
        raise ApiError(404, "not_found", f"no article with id {article_id!r}")
    today = current.holder().today()
    return jsonify({
        "id": found.id, "title": found.title, "category": found.category, "path": found.path,
        "products": list(found.products), "questions": list(found.questions), "tags": list(found.tags),
        "valid_from": found.valid_from.isoformat() if found.valid_from else None,
        "valid_until": found.valid_until.isoformat() if found.valid_until else None,
        "validity": found.validity(today),
        "sections": [{"heading": " › ".join(s.heading_path), "anchor": s.anchor, "text": s.text}
                     for s in found.sections],
        "reply_template": found.reply_template,
        "markdown": found.body,
        "html": render_html(found.body, safe=True),
        "index_version": searcher.index.version,
    })


def facets():
    searcher = current.searcher()
    return jsonify({"categories": searcher.categories, "products": searcher.products,
                    "index_version": searcher.index.version})


def feedback():
    """A vote on an answer that was served: its request_id, one of its articles; one vote per (request,
    article, action): the same vote again is 200 with the first one's id."""
    config = current.config()
    vote = payloads.feedback_vote(payloads.json_body(request), config.max_question_chars)
    served = current.served().find(vote.request_id)
    if served is None:
        raise ApiError(404, "unknown_request", f"no answer with request_id {vote.request_id!r} was served here in "
                                               f"the last {config.feedback_window_hours:g} hours")
    if vote.article_id is not None and vote.article_id not in served.article_ids:
        raise ApiError(422, "not_suggested", f"the answer {vote.request_id!r} did not suggest {vote.article_id!r}")
    event = FeedbackEvent(served.question, vote.action, vote.article_id, served.index_version, vote.request_id,
                          guard.client_key(request.remote_addr))
    row_id, new = current.stores().feedback.vote(event)
    return jsonify({"id": row_id, "duplicate": not new}), 201 if new else 200
