"""Start the real server (``python -m server``) as a child process on 127.0.0.1 and wait until it is ready.

Shared by the test fixture, the serving benchmark and any script that needs a
live server: one place that knows how to start it, wait for it and stop it.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Mapping, Sequence


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class ServerProcess:
    """``with ServerProcess(index, ["--embedder", "hash"]) as server: server.url``."""

    def __init__(self, index: Path | str, args: Sequence[str] = (), cwd: Path | str | None = None,
                 ready_timeout: float = 90.0, capture_output: bool = False, env: Mapping[str, str] | None = None):
        self.index, self.args, self.cwd = str(index), list(args), cwd
        self.env = dict(env or {})  # added to this process's environment (e.g. KBS_DATABASE_URL: not a flag)
        self.ready_timeout, self.capture_output = ready_timeout, capture_output
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.output = ""

    def start(self) -> "ServerProcess":
        project_root = str(Path(__file__).resolve().parent.parent)
        pythonpath = os.pathsep.join(p for p in (project_root, os.environ.get("PYTHONPATH")) if p)
        out = subprocess.PIPE if self.capture_output else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [sys.executable, "-m", "server", "--index", self.index, "--host", "127.0.0.1",
             "--port", str(self.port), *self.args],
            cwd=self.cwd, env={**os.environ, **self.env, "PYTHONPATH": pythonpath},
            stdout=out, stderr=subprocess.STDOUT if self.capture_output else subprocess.DEVNULL, text=True)
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        while True:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2):
                    return
            except (OSError, urllib.error.URLError):
                pass
            if self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"the server exited with {self.process.returncode}:\n{self.output}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the server did not answer within {self.ready_timeout:.0f} s")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
        try:
            out, _ = self.process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, _ = self.process.communicate()
        self.output += out or ""

    def __enter__(self) -> "ServerProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
