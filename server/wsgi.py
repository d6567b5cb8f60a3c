"""waitress, set up to refuse what it can before the app runs, in the one JSON error shape.

waitress answers some requests itself, without calling the app: a body over
``max_request_body_size`` (refused from its Content-Length, before the body is read),
a Content-Length that is not a number, a malformed request line or header. Its own
replies are text/plain; ``JsonErrorTask`` writes them as ``{"error": {"code", "message"}}``
with the same security headers as the app's.

On top of waitress (issue 26), so that the default ``make serve`` holds with no proxy in front:

- **per-address cap** (``connections_per_address``): ``GuardedServer.accept`` refuses a connection from an
  address that already holds that many (429 too_many_connections, closed), so one machine cannot fill
  waitress's total (``max_connections``) and lock everyone else out;
- **request deadline** (``request_deadline_s``): a request's headers and body must all arrive within it,
  counted from the request's first byte (a new connection's: from the connect). waitress's own
  ``channel_timeout`` is reset by every byte, so trickling a header line every few seconds held a
  connection for ever; the deadline is checked in the server's maintenance pass (every second) and
  answered 408 request_timeout, then closed;
- ``GuardedParser``: an oversized Content-Length is refused *before* waitress sends ``100 Continue``
  (it sent 100 and then waited for 99,999,999 bytes), a request with both Content-Length and
  Transfer-Encoding (the request-smuggling pattern) is 400, and after any refused request the rest of
  the stream is dropped with the connection instead of being parsed as a next request.

waitress has no hook for these, so they subclass its parser, channel and server; the names they use
(``accept``, ``maintenance``, ``received``, ``service``, ``del_channel``, ``request``, ``requests``,
``outbufs``) are the ones waitress 3's own code relies on.
"""
from __future__ import annotations

import json
import logging
import socket
import time
from collections import Counter

from flask import Flask
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser, ParsingError
from waitress.server import MultiSocketServer, TcpWSGIServer
from waitress.task import ErrorTask, ThreadedTaskDispatcher

from core.config import Config

from .errors import HTTP_CODES
from .guard import SECURITY_HEADERS

log = logging.getLogger(__name__)

CHANNEL_TIMEOUT_S = 30  # an idle keep-alive connection (between requests) is closed after this
REFUSAL_LOG_EVERY_S = 60.0  # one warning per address and minute while it is over its cap


def error_body(code: str, message: str) -> bytes:
    """The one JSON error shape (``server.errors``) for the replies waitress writes without the app."""
    return json.dumps({"error": {"code": code, "message": message}}).encode("utf-8")


class JsonErrorTask(ErrorTask):
    def execute(self):
        error = self.request.error
        message = error.body.strip() or error.reason
        code = HTTP_CODES.get(error.code, "bad_request")
        if error.code == 413:
            message = f"the body is too large ({message})"
        body = error_body(code, message)
        self.status = f"{error.code} {error.reason}"
        self.response_headers.extend([("Content-Type", "application/json"), *SECURITY_HEADERS.items()])
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


def error_reply(status: str, code: str, message: str, *headers: tuple[str, str]) -> bytes:
    """A whole ``Connection: close`` response in the JSON error shape, for the replies written without a
    task (no worker thread is taken for a connection being dropped)."""
    body = error_body(code, message)
    lines = [f"HTTP/1.1 {status}", "Content-Type: application/json", f"Content-Length: {len(body)}",
             "Connection: close", *(f"{k}: {v}" for k, v in (*headers, *SECURITY_HEADERS.items()))]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class GuardedParser(HTTPRequestParser):
    def parse_header(self, header_plus):
        super().parse_header(header_plus)
        # HTTP/1.1 pops Transfer-Encoding into self.chunked; HTTP/1.0 leaves it among the headers
        if "CONTENT_LENGTH" in self.headers and (self.chunked or "TRANSFER_ENCODING" in self.headers):
            raise ParsingError("a request may not carry both Content-Length and Transfer-Encoding")

    def received(self, data):
        consumed = super().received(data)
        if self.error is not None:
            self.expect_continue = False  # answer the refusal now, never 100 Continue for a body refused
            return len(data)  # the connection closes after the refusal: what follows is not a request
        return consumed


class ConnectionGuard:
    """The state every listening socket of one server shares: open connections per client address."""

    def __init__(self, per_address: int, deadline_s: float):
        self.per_address, self.deadline_s = per_address, deadline_s
        self.open: Counter[str] = Counter()
        self._warned: dict[str, float] = {}

    def admits(self, client: str) -> bool:
        return self.per_address <= 0 or self.open[client] < self.per_address

    def opened(self, client: str) -> None:
        self.open[client] += 1

    def closed(self, client: str) -> None:
        self.open[client] -= 1
        if self.open[client] <= 0:
            del self.open[client]

    def refuse(self, conn: socket.socket, client: str) -> None:
        """Answer 429 as best it can (the client may not have sent its request yet) and close."""
        now = time.monotonic()
        if now - self._warned.get(client, -REFUSAL_LOG_EVERY_S) >= REFUSAL_LOG_EVERY_S:
            self._warned = {c: t for c, t in self._warned.items() if now - t < REFUSAL_LOG_EVERY_S}
            self._warned[client] = now
            log.warning("refusing connections from %s: it holds %d open (connections_per_address)",
                        client, self.open[client])
        try:
            conn.setblocking(False)
            try:
                conn.recv(65536)  # read what already came, so that closing sends FIN rather than RST
            except BlockingIOError:
                pass
            conn.send(error_reply("429 Too Many Requests", "too_many_connections",
                                  f"this address holds {self.per_address} open connections already; "
                                  f"close some or reuse them", ("Retry-After", "1")))
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        conn.close()


def client_of(addr) -> str:
    return str(addr[0]) if isinstance(addr, tuple) else str(addr)


class JsonChannel(HTTPChannel):
    error_task_class = JsonErrorTask
    parser_class = GuardedParser
    client: str | None = None  # the address counted against connections_per_address, until closed

    def __init__(self, server, sock, addr, adj, map=None):
        super().__init__(server, sock, addr, adj, map=map)
        # when the request being received started; None while none is (idle between keep-alive requests)
        self.request_started: float | None = self.creation_time  # the first one's clock runs from the connect
        guard = getattr(server, "guard", None)
        if guard is not None:
            self.client = client_of(addr)
            guard.opened(self.client)

    def del_channel(self, map=None):
        super().del_channel(map)
        if self.client is not None:
            self.server.guard.closed(self.client)
            self.client = None

    def received(self, data):
        with self.requests_lock:
            if data and self.request is None and self.request_started is None:
                self.request_started = time.time()
        result = super().received(data)
        with self.requests_lock:
            if self.request is None:  # nothing half-received: the clock waits for the next request's first byte
                self.request_started = None
        return result

    def service(self):
        super().service()
        with self.requests_lock:
            if self.request is not None:  # a pipelined request could not be read while this one was served
                self.request_started = time.time()

    def check_deadline(self, now: float, deadline_s: float) -> None:
        """Main thread (the server's maintenance): drop a request whose headers and body are late."""
        started = self.request_started
        if started is None or now - started < deadline_s or self.requests or self.will_close \
                or self.close_when_flushed:
            return
        with self.requests_lock:
            partial, self.request, self.request_started = self.request, None, None
        if partial is None:  # connected and sent nothing: nothing to answer
            self.will_close = True
            return
        partial.close()
        reply = error_reply("408 Request Timeout", "request_timeout",
                            f"the request did not arrive in full within {deadline_s:g} s")
        with self.outbuf_lock:
            self.outbufs[-1].append(reply)
            self.current_outbuf_count += len(reply)
            self.total_outbufs_len += len(reply)
        self.close_when_flushed = True
        log.info("%s: request not complete after %g s: 408, closed", self.client or self.addr, deadline_s)


class GuardedServer(TcpWSGIServer):
    channel_class = JsonChannel

    def __init__(self, application, map, guard: ConnectionGuard, **kw):
        self.guard = guard
        super().__init__(application, map, **kw)

    def accept(self):
        pair = super().accept()
        if pair is None:
            return None
        conn, addr = pair
        client = client_of(addr)
        if self.guard.admits(client):
            return pair
        self.guard.refuse(conn, client)
        return None  # waitress's handle_accept then does nothing

    def maintenance(self, now):
        super().maintenance(now)
        if self.guard.deadline_s > 0:
            for channel in list(self.active_channels.values()):
                if isinstance(channel, JsonChannel):
                    channel.check_deadline(now, self.guard.deadline_s)


def make_server(app: Flask, config: Config):
    """Bind and listen (an ``OSError`` such as EADDRINUSE comes out of here); ``.run()`` serves."""
    adj = Adjustments(
        host=config.host, port=config.port, threads=config.threads, ident="kb-suggest",
        channel_timeout=CHANNEL_TIMEOUT_S, connection_limit=config.max_connections,
        cleanup_interval=1,  # the maintenance pass that enforces request_deadline_s runs each second
        # waitress refuses a Content-Length >= this from the headers alone, so one byte over the app's limit
        max_request_body_size=config.max_body_bytes + 1)
    guard = ConnectionGuard(config.connections_per_address, config.request_deadline_s)
    dispatcher = ThreadedTaskDispatcher()
    socket_map: dict = {}
    servers: list[GuardedServer] = []
    try:
        for sockinfo in adj.listen:  # a host name may resolve to several addresses: one listener each
            servers.append(GuardedServer(app, socket_map, guard, dispatcher=dispatcher, adj=adj, sockinfo=sockinfo))
    except OSError:
        for server in servers:
            server.close()
        raise
    dispatcher.set_thread_count(adj.threads)
    if len(servers) == 1:
        return servers[0]
    return MultiSocketServer(socket_map, adj, [(s.effective_host, s.effective_port) for s in servers],
                             dispatcher, servers[-1].log_info)


def serve(app: Flask, config: Config) -> None:
    server = make_server(app, config)
    server.print_listen("Serving on http://{}:{}")
    server.run()
