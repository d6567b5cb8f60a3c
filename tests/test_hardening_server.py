"""Issue 11 against the real server process (waitress): what waitress refuses by itself comes out
in the JSON error shape, early, and the server's own limits hold over HTTP."""
import json
import socket
import time

import pytest

from tests.helpers import http


def exchange(url: str, request: bytes, timeout: float = 10) -> tuple[int, dict, dict, float]:
    """Send raw bytes; (status, headers, JSON body, seconds) of the reply."""
    host, port = url.removeprefix("http://").split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, json.loads(body), time.monotonic() - started


def post_head(length: str, host: str = "127.0.0.1") -> bytes:
    return (f"POST /v1/suggest HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\nConnection: close\r\n\r\n").encode()


LIMITS = ("--embedder", "hash", "--reload-interval", "0", "--rate-limit-kib-per-s", "1", "--rate-limit-burst-kib", "128")


@pytest.fixture(scope="module")
def live_index(tmp_path_factory):
    """The fixture KB's index for this module's servers (they only read it)."""
    from core import config as cfg
    from indexer.build import build
    from indexer.embed import HashEmbedder
    from tests.helpers import FIXTURES

    tmp = tmp_path_factory.mktemp("live")
    build(FIXTURES / "kb", tmp / "index", HashEmbedder(), cfg.load({"embedder": "hash"}, environ={}))
    return tmp / "index"


@pytest.fixture(scope="module")
def live(live_index, server_process):
    """One server for the module's probes, whose rate-limit bucket (128 KiB) none of them empties."""
    return server_process(live_index, *LIMITS, cwd=live_index.parent)


@pytest.mark.parametrize("probe, request_bytes, status, code", [
    ("Content-Length -5", post_head("-5") + b'{"question": "x"}', 400, "bad_request"),
    ("Content-Length abc", post_head("abc") + b'{"question": "x"}', 400, "bad_request"),
    ("Content-Length 1e3", post_head("1e3") + b'{"question": "x"}', 400, "bad_request"),
    ("a 50 MiB body announced (none sent)", post_head(str(50 * 2**20)), 413, "payload_too_large"),
    ("one byte over the limit (refused from the headers)", post_head(str(65537)), 413, "payload_too_large"),
    ("a malformed request line", b"GARBAGE\r\n\r\n", 400, "bad_request"),
    ("another Host (DNS rebinding)", post_head("17", "attacker.example") + b'{"question": "x"}',
     400, "host_not_allowed"),
])
def test_waitress_refusals_are_json(live, probe, request_bytes, status, code):
    got, headers, body, seconds = exchange(live.url, request_bytes)
    assert got == status, body
    assert headers["content-type"].startswith("application/json")
    assert body["error"]["code"] == code and body["error"]["message"]
    assert headers["x-content-type-options"] == "nosniff" and "frame-ancestors 'none'" in \
        headers["content-security-policy"]
    if status == 413 and "announced" in probe:
        assert seconds < 2, "refused from the headers, without waiting for 50 MiB"


def test_a_body_at_the_limit_reaches_the_app(live):
    body = json.dumps({"question": "发货"}).encode()
    body = body[:-1] + b" " * (65536 - len(body)) + b"}"
    status, _, reply, _ = exchange(live.url, post_head(str(len(body))) + body)
    assert status == 200 and reply["suggestions"]


@pytest.fixture
def limited(live_index, server_process):
    """A server of its own for the test that empties the bucket: on ``live`` it would leave the bucket
    empty (1 KiB/s to refill) for the tests after it, and they would pass or fail by the order."""
    server = server_process(live_index, *LIMITS, cwd=live_index.parent)
    yield server
    server.stop()


def test_rate_limit_over_http_is_429_with_retry_after(limited):
    import urllib.error
    import urllib.request

    question = json.dumps({"question": "发货" * 1000}).encode()  # ~6 KiB; the bucket holds 128
    statuses, retry_after = [], None
    for _ in range(40):
        request = urllib.request.Request(limited.url + "/v1/suggest", data=question,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                statuses.append(response.status)
        except urllib.error.HTTPError as exc:
            statuses.append(exc.code)
            body = json.loads(exc.read())
            assert body["error"]["code"] == "rate_limited"
            retry_after = int(exc.headers["Retry-After"])
            break
    assert len(statuses) > 3 and set(statuses[:-1]) == {200} and statuses[-1] == 429
    assert 1 <= retry_after <= 10
    assert http("GET", limited.url + "/healthz")[0] == 200, "health checks are not limited"
