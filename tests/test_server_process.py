"""The real server process (waitress), on 127.0.0.1, queried over HTTP."""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

from tests.conftest import ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http(method, url, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_server_process_answers_over_http(built, tmp_path):
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "server", "--index", str(tmp_path / "index"), "--host", "127.0.0.1",
         "--port", str(port), "--embedder", "hash", "--reload-interval", "0"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if http("GET", base + "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert process.poll() is None, process.stdout.read()
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
        status, body = http("POST", base + "/v1/suggest", {"question": "退款多久到账", "top_k": 2})
        assert status == 200
        assert body["suggestions"][0]["article_id"] == "refund-time"
        assert body["index_version"] == built.version
        status, body = http("POST", base + "/v1/suggest", {"question": ""})
        assert status == 400 and body["error"]["code"] == "invalid_request"
        assert http("GET", base + "/readyz")[1]["ready"] is True
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0]
    assert "waitress" in output.lower()


def test_server_without_index_exits_with_a_clear_message(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "server", "--index", str(tmp_path / "none"), "--embedder", "hash"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "no published index" in result.stderr
