"""waitress, set up to refuse what it can before the app runs, in the one JSON error shape.

waitress answers some requests itself, without calling the app: a body over
``max_request_body_size`` (refused from its Content-Length, before the body is read),
a Content-Length that is not a number, a malformed request line or header. Its own
replies are text/plain; ``JsonErrorTask`` writes them as ``{"error": {"code", "message"}}``
with the same security headers as the app's.
"""
from __future__ import annotations

import json

from flask import Flask
from waitress.channel import HTTPChannel
from waitress.server import create_server
from waitress.task import ErrorTask

from core.config import Config

from .errors import HTTP_CODES
from .guard import SECURITY_HEADERS


class JsonErrorTask(ErrorTask):
    def execute(self):
        error = self.request.error
        message = error.body.strip() or error.reason
        code = HTTP_CODES.get(error.code, "bad_request")
        if error.code == 413:
            message = f"the body is too large ({message})"
        body = json.dumps({"error": {"code": code, "message": message}}).encode("utf-8")
        self.status = f"{error.code} {error.reason}"
        self.response_headers.extend([("Content-Type", "application/json"), *SECURITY_HEADERS.items()])
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class JsonChannel(HTTPChannel):
    error_task_class = JsonErrorTask


def serve(app: Flask, config: Config) -> None:
    server = create_server(
        app, host=config.host, port=config.port, threads=config.threads, ident="kb-suggest",
        channel_timeout=30, connection_limit=200,
        # waitress refuses a Content-Length >= this from the headers alone, so one byte over the app's limit
        max_request_body_size=config.max_body_bytes + 1)
    for listener in [server, *getattr(server, "map", {}).values()]:
        if hasattr(listener, "channel_class"):
            listener.channel_class = JsonChannel
    server.print_listen("Serving on http://{}:{}")
    server.run()
