"""One JSON error shape for every failure: ``{"error": {"code": str, "message": str}}``.

A client's mistake (any 4xx) logs one line and never a traceback, so bad requests
cannot flood the log; only a server fault (500) logs its traceback.
"""
from __future__ import annotations

import logging

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from retrieval import DeadlineExceeded, QueryError
from storage import StorageError

log = logging.getLogger(__name__)

HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 408: "request_timeout", 413: "payload_too_large", 415: "unsupported_media_type",
              429: "rate_limited", 431: "headers_too_large", 500: "internal_error", 501: "not_implemented",
              503: "index_unavailable"}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None):
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    response.headers.update(headers or {})
    return response


def _client_error(status: int, code: str, message: str, headers: dict[str, str] | None = None):
    log.info("%s %s %r -> %d %s", request.remote_addr, request.method, request.path[:200], status, code)
    return error_response(status, code, message, headers)


def register(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return _client_error(exc.status, exc.code, exc.message, exc.headers)

    @app.errorhandler(QueryError)
    def _query_error(exc: QueryError):
        return _client_error(400, "invalid_request", str(exc))

    @app.errorhandler(DeadlineExceeded)
    def _deadline(exc: DeadlineExceeded):
        return _client_error(503, "deadline_exceeded", "the server is busy and could not answer in time; "
                                                       "retry shortly", {"Retry-After": "1"})

    @app.errorhandler(StorageError)
    def _storage(exc: StorageError):
        log.warning("storage: %s", exc)  # one line, no password, no customer text
        return error_response(503, "storage_unavailable", "the feedback could not be stored; retry shortly",
                              {"Retry-After": "1"})

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        status = exc.code or 500
        headers = {"Allow": ", ".join(exc.valid_methods)} if status == 405 and exc.valid_methods else None
        return _client_error(status, HTTP_CODES.get(status, "http_error"), exc.description or exc.name, headers)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error")
        return error_response(500, "internal_error", "internal error; the incident was logged")
