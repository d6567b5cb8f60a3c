"""The admin API (customers' text: the exports and the weekly report): every route needs the admin token.

The token is checked once, before any view of this blueprint runs, so a route added here cannot forget it; CORS
never applies (the public blueprint carries its own).
"""
from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from core.config import Config

from . import current, guard, payloads


def blueprint(config: Config) -> Blueprint:
    bp = Blueprint("admin", __name__)
    bp.before_request(lambda: guard.require_admin(config))
    bp.add_url_rule("/v1/feedback/export", view_func=feedback_export, methods=["GET"])
    bp.add_url_rule("/v1/querylog/export", view_func=querylog_export, methods=["GET"])
    bp.add_url_rule("/v1/report", view_func=report, methods=["GET"])
    return bp


def feedback_export():
    """Admin only: the rows hold customers' messages (phone and order numbers)."""
    return _csv(current.stores().feedback.export_csv(), "feedback.csv")


def querylog_export():
    """Admin only: masked, but still customers' messages."""
    return _csv(current.stores().query_log.export_csv(), "querylog.csv")


def report():
    """Admin only: the weekly report (customers' questions, masked). 202 while it is being built."""
    config = current.config()
    period = payloads.report_period(request.args, config.report_utc_offset_hours, config.report_max_days,
                                    current.holder().today())
    status, body = current_app.extensions["kbs_reports"].get(period)
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    if status == 202:
        response.headers["Retry-After"] = "1"
    return response


def _csv(pieces, filename: str) -> Response:
    def stream():
        yield "\ufeff"  # BOM: Excel then reads the Chinese right
        yield from pieces

    return Response(stream(), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={filename}", "Cache-Control": "no-store"})
