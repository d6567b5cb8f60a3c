"""Issue 26, item 1 and the server's part of item 5, against the real server process: one address cannot
take every connection, trickling cannot outlast the request deadline, an oversized body is refused before
``100 Continue``, Content-Length with Transfer-Encoding closes the connection, a busy port is one clear line,
and a missing, empty or escaping ``CURRENT`` falls back to the newest good version."""
from __future__ import annotations

import json
import os
import logging
import shutil
import socket
import subprocess
import sys
import threading
import time

import pytest

from server import create_app
from tests.helpers import FIXTURES, ROOT, TODAY

DEADLINE_S = 2.0


@pytest.fixture(scope="module")
def index_root(tmp_path_factory):
    from core import config as cfg
    from indexer.build import build
    from indexer.embed import HashEmbedder

    tmp = tmp_path_factory.mktemp("conn")
    build(FIXTURES / "kb", tmp / "index", HashEmbedder(), cfg.load({"embedder": "hash"}, environ={}))
    return tmp / "index"


@pytest.fixture(scope="module")
def live(index_root, server_process):
    """Default connection settings (per-address cap 32, deadline 10 s)."""
    return server_process(index_root, "--embedder", "hash", "--reload-interval", "0", cwd=index_root.parent)


@pytest.fixture(scope="module")
def strict(index_root, server_process):
    """A short request deadline, so that the deadline tests take seconds."""
    return server_process(index_root, "--embedder", "hash", "--reload-interval", "0",
                          "--request-deadline-s", str(DEADLINE_S), cwd=index_root.parent)


def connect(url: str, source: str | None = None, timeout: float = 10) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.settimeout(timeout)
    if source:
        sock.bind((source, 0))  # all of 127.0.0.0/8 is loopback: another client address on this machine
    sock.connect((host, int(port)))
    return sock


def read_all(sock: socket.socket) -> bytes:
    """Everything until the server closes (or the socket's timeout, raised)."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def parse(data: bytes) -> tuple[int, dict, dict]:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, json.loads(body) if body.strip() else {}


HEALTH = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


def test_one_address_cannot_take_every_connection(live):
    """220 trickling connections from 127.0.0.1 (over waitress's total of 200) leave 127.0.0.2 answered."""
    hogs: list[socket.socket] = []
    stop = threading.Event()

    def trickle():
        while not stop.wait(1.0):
            for sock in hogs:
                try:
                    sock.send(b"X-Slow: 1\r\n")
                except OSError:
                    pass

    trickler = threading.Thread(target=trickle, daemon=True)
    try:
        for _ in range(220):
            sock = connect(live.url)
            sock.send(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            hogs.append(sock)
        trickler.start()
        time.sleep(0.5)  # the server has accepted (and refused) what the backlog holds

        started = time.monotonic()
        with connect(live.url, source="127.0.0.2", timeout=2) as other:
            other.sendall(HEALTH)
            status, _, body = parse(read_all(other))
        assert status == 200 and body["status"] == "ok"
        assert time.monotonic() - started < 2

        with connect(live.url, timeout=5) as extra:  # one more from the capped address
            try:
                extra.sendall(HEALTH)
                data = read_all(extra)
            except ConnectionResetError:
                data = b""  # the refusal raced the request; closed is what counts
        if data:
            status, headers, body = parse(data)
            assert status == 429 and body["error"]["code"] == "too_many_connections"
            assert headers["content-type"] == "application/json"
    finally:
        stop.set()
        for sock in hogs:
            sock.close()


def test_trickled_headers_cannot_outlast_the_deadline(strict):
    started = time.monotonic()
    with connect(strict.url) as sock:
        sock.send(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        sock.settimeout(0.5)
        data = b""
        while time.monotonic() - started < DEADLINE_S + 8:
            try:
                sock.send(b"X-Slow: 1\r\n")
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
            if not chunk:
                break
            data += chunk
    elapsed = time.monotonic() - started
    assert elapsed < DEADLINE_S + 2.5, f"held {elapsed:.1f} s by trickling"
    status, headers, body = parse(data)
    assert status == 408 and body["error"]["code"] == "request_timeout"
    assert headers["connection"] == "close"


def test_a_stalled_body_loses_its_slot_at_the_deadline(strict):
    started = time.monotonic()
    with connect(strict.url, timeout=DEADLINE_S + 8) as sock:
        sock.sendall(b"POST /v1/suggest HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 1000\r\n\r\n" + b'{"question": "' + b"x" * 11)  # 25 bytes, then silence
        data = read_all(sock)
    elapsed = time.monotonic() - started
    assert elapsed < DEADLINE_S + 2.5, f"held {elapsed:.1f} s by a body that never came"
    status, _, body = parse(data)
    assert status == 408 and body["error"]["code"] == "request_timeout"


def test_a_connection_that_sends_nothing_is_closed_at_the_deadline(strict):
    started = time.monotonic()
    with connect(strict.url, timeout=DEADLINE_S + 8) as sock:
        assert read_all(sock) == b"", "nothing was asked: nothing is answered"
    assert time.monotonic() - started < DEADLINE_S + 2.5


def test_keep_alive_requests_each_get_their_own_deadline(strict):
    """The deadline is per request: a connection that asks promptly again and again is never cut."""
    with connect(strict.url) as sock:
        for _ in range(3):
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            data = b""
            while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
                data += sock.recv(65536)
            assert parse(data)[0] == 200
            time.sleep(DEADLINE_S * 0.6)  # idle between requests is channel_timeout's, not the deadline's


@pytest.mark.parametrize("expect", [True, False], ids=["Expect 100-continue", "no Expect"])
def test_an_oversized_length_is_413_at_once(strict, expect):
    started = time.monotonic()
    with connect(strict.url, timeout=5) as sock:
        sock.sendall(b"POST /v1/suggest HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     + (b"Expect: 100-continue\r\n" if expect else b"") + b"Content-Length: 99999999\r\n\r\n")
        data = read_all(sock)
    assert not data.startswith(b"HTTP/1.1 100"), "no 100 Continue for a body that will be refused"
    status, _, body = parse(data)
    assert status == 413 and body["error"]["code"] == "payload_too_large"
    assert time.monotonic() - started < 2


def test_a_fitting_body_with_expect_still_gets_100_continue(strict):
    body = json.dumps({"question": "发货"}).encode()
    with connect(strict.url) as sock:
        sock.sendall(b"POST /v1/suggest HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Expect: 100-continue\r\nConnection: close\r\n"
                     + f"Content-Length: {len(body)}\r\n\r\n".encode())
        assert sock.recv(65536).startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(body)
        status, _, reply = parse(read_all(sock))
    assert status == 200 and reply["suggestions"]


def test_content_length_with_transfer_encoding_is_refused_and_closed(strict):
    """The smuggling pattern: one server reads the chunks, another the length; refused, nothing after it served."""
    chunk = b'{"question": "x"}'
    smuggled = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    with connect(strict.url, timeout=5) as sock:
        sock.sendall(b"POST /v1/suggest HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     + f"Content-Length: {len(chunk)}\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
                     + f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n0\r\n\r\n" + smuggled)
        data = read_all(sock)
    assert data.count(b"HTTP/1.1 ") == 1, data
    status, headers, body = parse(data)
    assert status == 400 and body["error"]["code"] == "bad_request"
    assert "Transfer-Encoding" in body["error"]["message"]
    assert headers["connection"] == "close"


def test_a_chunked_body_alone_is_still_served(strict):
    body = json.dumps({"question": "发货"}).encode()
    with connect(strict.url) as sock:
        sock.sendall(b"POST /v1/suggest HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                     + f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n")
        status, _, reply = parse(read_all(sock))
    assert status == 200 and reply["suggestions"]


def test_a_busy_port_is_one_clear_line_and_exit_2(index_root):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "server", "--index", str(index_root), "--embedder", "hash",
                               "--host", "127.0.0.1", "--port", str(port), "--reload-interval", "0"],
                              cwd=index_root.parent, env={**os.environ, "PYTHONPATH": str(ROOT)},
                              capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert f"error: port {port} on 127.0.0.1 is in use" in done.stderr
    assert "serving" not in done.stdout.lower() and "Traceback" not in done.stderr


# --- CURRENT: missing, empty or naming a path outside versions/ -----------------------------------------------

@pytest.mark.parametrize("pointer", [None, "", "\n", "../../elsewhere", "/tmp", "versions/../x"],
                         ids=["missing", "empty", "blank line", "dot-dot", "absolute", "a path"])
def test_a_bad_current_falls_back_to_the_newest_good_version(built, tmp_path, config, caplog, pointer):
    root = tmp_path / "index"
    outside = tmp_path / "elsewhere"
    shutil.copytree(built.path, outside)  # a servable index outside versions/: must not be served
    if pointer is None:
        (root / "CURRENT").unlink()
    else:
        (root / "CURRENT").write_text(pointer, encoding="utf-8")
    caplog.set_level(logging.INFO)
    app = create_app(config, today=lambda: TODAY)
    holder = app.extensions["kbs_holder"]
    assert holder.version == built.version
    ready = app.test_client().get("/readyz").get_json()
    assert ready["ready"] is True and "newest good version" in ready["reload_error"]
    reason = "missing" if pointer is None else "empty" if not pointer.strip() else "outside versions/"
    assert reason in ready["reload_error"]
    warnings = [r for r in caplog.records if r.name == "server.holder" and r.levelno == logging.WARNING]
    assert len(warnings) == 1 and reason in warnings[0].getMessage()
    logged = len([r for r in caplog.records if r.levelno >= logging.WARNING])
    for _ in range(3):  # the watcher's later checks neither log again nor lose the reason
        assert holder.reload() is False
    assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) == logged
    assert app.test_client().get("/readyz").get_json()["reload_error"] == ready["reload_error"]

    (root / "CURRENT").write_text(built.version + "\n", encoding="utf-8")  # fixed: the reason goes
    assert holder.reload() is False
    assert app.test_client().get("/readyz").get_json()["reload_error"] is None


def test_a_bad_current_with_nothing_good_still_refuses(built, tmp_path, config):
    root = tmp_path / "index"
    (root / "CURRENT").write_text("", encoding="utf-8")
    (built.path / "manifest.json").write_text("[]", encoding="utf-8")  # the only version is damaged
    app = create_app(config, today=lambda: TODAY)
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["ready"] is False
    assert "empty" in ready.get_json()["reload_error"]
