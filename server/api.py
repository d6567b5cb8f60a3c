"""The API blueprint: parse the request, call the searcher, serialize the result."""
from __future__ import annotations

import dataclasses
import time

from flask import Blueprint, Response, current_app, jsonify, request, send_from_directory

from assist import Answer, Assistant
from indexer.markdown_text import render_html
from report import stylesheet
from retrieval import Searcher

from storage import querylog
from storage.feedback import FeedbackEvent
from storage.stores import Stores

from . import guard, payloads
from .errors import ApiError

bp = Blueprint("api", __name__)


def _config():
    return current_app.extensions["kbs_config"]


def _stores() -> Stores:
    return current_app.extensions["kbs_stores"]


def _holder():
    return current_app.extensions["kbs_holder"]


def _assistant() -> Assistant:
    assistant = _holder().assistant  # taken once: a reload cannot change it mid-request
    if assistant is None:
        raise ApiError(503, "index_unavailable", _holder().error or "no index is loaded yet")
    return assistant


def _searcher() -> Searcher:
    return _assistant().searcher


def _served():
    return current_app.extensions["kbs_served"]


def _result(answer: Answer, request_id: str) -> dict:
    result = answer.result
    return {
        "request_id": request_id,
        "suggestions": [
            {**{f.name: getattr(s, f.name) for f in dataclasses.fields(s)}, "scores": dict(s.scores),
             "highlights": [list(h) for h in s.highlights], "products": list(s.products),
             "other_sections": list(s.other_sections)}  # shallow: asdict deep-copies every value
            for s in result.suggestions
        ],
        "confident": result.confident,
        "confidence": result.confidence,
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
    return time.monotonic() + _config().deadline_s


def _log(question: str, answer: Answer, latency_ms: float, endpoint: str, request_id: str) -> None:
    """Hand the answer to the query log's writer thread (masked there); returns at once."""
    query_log = _stores().query_log
    if query_log.enabled:
        query_log.record(querylog.entry_of(answer, question, latency_ms, endpoint, request_id))


def _remember(question: str, answer: Answer) -> str:
    """The request id the feedback on this answer names (``server.served``)."""
    result = answer.result
    return _served().remember(question, tuple(s.article_id for s in result.suggestions), result.index_version)


@bp.post("/v1/suggest")
def suggest():
    started = time.perf_counter()
    config = _config()
    deadline = _deadline()
    body = payloads.json_body(request)
    query = payloads.suggest_query(body, config.max_question_chars)
    turns = payloads.conversation(body, config.max_conversation_turns, config.max_turn_chars)
    answer = _assistant().answer(query, turns, deadline=deadline)
    request_id = _remember(query.text, answer)
    _log(query.text, answer, (time.perf_counter() - started) * 1000, "suggest", request_id)
    return jsonify(_result(answer, request_id))


@bp.post("/v1/suggest/batch")
def suggest_batch():
    deadline = _deadline()
    config = _config()
    queries = payloads.batch_queries(payloads.json_body(request), config.max_question_chars, config.max_batch,
                                     config.max_batch_chars)
    started = time.perf_counter()
    assistant = _assistant()
    answers = [assistant.answer(q, deadline=deadline) for q in queries]
    request_ids = [_remember(q.text, a) for q, a in zip(queries, answers)]
    for query, answer, request_id in zip(queries, answers, request_ids):  # each question its own row and time
        _log(query.text, answer, answer.took_ms, "batch", request_id)
    return jsonify({"results": [_result(a, r) for a, r in zip(answers, request_ids)],
                    "index_version": assistant.searcher.index.version,
                    "took_ms": round((time.perf_counter() - started) * 1000, 3)})


@bp.get("/v1/articles/<path:article_id>")
def article(article_id: str):
    searcher = _searcher()
    found = searcher.articles.get(article_id)
    if found is None:
        raise ApiError(404, "not_found", f"no article with id {article_id!r}")
    today = _holder().today()
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


@bp.get("/v1/facets")
def facets():
    searcher = _searcher()
    return jsonify({"categories": searcher.categories, "products": searcher.products,
                    "index_version": searcher.index.version})


@bp.post("/v1/feedback")
def feedback():
    """A vote on an answer that was served: its request_id, one of its articles; one vote per (request,
    article, action): the same vote again is 200 with the first one's id."""
    vote = payloads.feedback_vote(payloads.json_body(request), _config().max_question_chars)
    served = _served().find(vote.request_id)
    if served is None:
        raise ApiError(404, "unknown_request", f"no answer with request_id {vote.request_id!r} was served here in "
                                               f"the last {_config().feedback_window_hours:g} hours")
    if vote.article_id is not None and vote.article_id not in served.article_ids:
        raise ApiError(422, "not_suggested", f"the answer {vote.request_id!r} did not suggest {vote.article_id!r}")
    event = FeedbackEvent(served.question, vote.action, vote.article_id, served.index_version, vote.request_id,
                          guard.client_key(request.remote_addr))
    row_id, new = _stores().feedback.vote(event)
    return jsonify({"id": row_id, "duplicate": not new}), 201 if new else 200


@bp.get("/v1/feedback/export")
def feedback_export():
    """Admin only: the rows hold customers' messages (phone and order numbers)."""
    guard.require_admin(_config())
    return _csv(_stores().feedback.export_csv(), "feedback.csv")


@bp.get("/v1/querylog/export")
def querylog_export():
    """Admin only: masked, but still customers' messages."""
    guard.require_admin(_config())
    return _csv(_stores().query_log.export_csv(), "querylog.csv")


@bp.get("/v1/report")
def report():
    """Admin only: the weekly report (customers' questions, masked). 202 while it is being built."""
    config = _config()
    guard.require_admin(config)
    period = payloads.report_period(request.args, config.report_utc_offset_hours, config.report_max_days,
                                    _holder().today())
    status, body = current_app.extensions["kbs_reports"].get(period)
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    if status == 202:
        response.headers["Retry-After"] = "1"
    return response


@bp.get("/admin/")
def admin():
    """The editors' page: static, no data; it asks for the admin token and fetches /v1/report with it."""
    return send_from_directory(current_app.static_folder, "admin.html")


@bp.get("/admin/report.css")
def report_css():
    return Response(stylesheet(), mimetype="text/css")


def _csv(pieces, filename: str) -> Response:
    def stream():
        yield "\ufeff"  # BOM: Excel then reads the Chinese right
        yield from pieces

    return Response(stream(), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={filename}", "Cache-Control": "no-store"})


@bp.get("/")
def sidebar():
    return send_from_directory(current_app.static_folder, "index.html")


@bp.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    status = {**_holder().status(), "embedding": _holder().encoder.stats(),
              "query_log": _stores().query_log.stats()}
    return jsonify(status), (200 if status["ready"] else 503)
