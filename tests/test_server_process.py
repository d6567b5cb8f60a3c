"""The real server process (waitress), on 127.0.0.1, queried over HTTP."""
import os
import subprocess
import sys

from tests.helpers import ROOT, http


def test_server_process_answers_over_http(built, tmp_path, server_process):
    server = server_process(tmp_path / "index", "--embedder", "hash", "--reload-interval", "0",
                            cwd=tmp_path, capture_output=True)
    status, body = http("POST", server.url + "/v1/suggest", {"question": "退款多久到账", "top_k": 2})
    assert status == 200
    assert body["suggestions"][0]["article_id"] == "refund-time"
    assert body["index_version"] == built.version
    status, body = http("POST", server.url + "/v1/suggest", {"question": ""})
    assert status == 400 and body["error"]["code"] == "invalid_request"
    assert http("GET", server.url + "/readyz")[1]["ready"] is True
    server.stop()
    assert "waitress" in server.output.lower()


def test_server_without_index_exits_with_a_clear_message(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "server", "--index", str(tmp_path / "none"), "--embedder", "hash"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "no published index" in result.stderr


def test_the_open_loop_benchmark_runs_end_to_end(tmp_path, capsys):
    """bench.openloop against the real server (fake embedder, fixture KB, a second a rate): it prints both tables."""
    from bench import openloop
    from tests.helpers import FIXTURES

    assert openloop.main(["--kb", str(FIXTURES / "kb"), "--index", str(tmp_path / "index"), "--embedder", "hash",
                          "--rates", "4,8", "--seconds", "1"]) == 0
    out = capsys.readouterr().out
    assert "| 4 |" in out and "## Open loop" in out
    assert ("capacity: " in out and "| 90% |" in out) or "no rate tried held" in out  # a loaded machine may miss it
