"""The pages and probes: the agents' sidebar, the editors' admin page (static: it asks for the token and calls the
admin API), health, readiness and the metrics. No token, no CORS."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, send_from_directory

from report import stylesheet

from . import current


def blueprint() -> Blueprint:
    bp = Blueprint("pages", __name__)
    bp.add_url_rule("/admin/", view_func=admin, methods=["GET"])
    bp.add_url_rule("/admin/report.css", view_func=report_css, methods=["GET"])
    bp.add_url_rule("/", view_func=sidebar, methods=["GET"])
    bp.add_url_rule("/healthz", view_func=healthz, methods=["GET"])
    bp.add_url_rule("/readyz", view_func=readyz, methods=["GET"])
    bp.add_url_rule("/metrics", view_func=metrics, methods=["GET"])
    return bp


def admin():
    """The editors' page: static, no data; it asks for the admin token and fetches /v1/report with it."""
    return send_from_directory(current_app.static_folder, "admin.html")


def report_css():
    return Response(stylesheet(), mimetype="text/css")


def sidebar():
    return send_from_directory(current_app.static_folder, "index.html")


def healthz():
    return jsonify({"status": "ok"})


def readyz():
    status = {**current.holder().status(), "embedding": current.holder().encoder.stats(),
              "query_log": current.stores().query_log.stats()}
    return jsonify(status), (200 if status["ready"] else 503)


def metrics():
    """Prometheus text format (server.metrics): counts and gauges, no customer text."""
    return current.metrics().exposition()
