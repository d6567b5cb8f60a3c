"""A throw-away PostgreSQL cluster for the tests and the replica benchmark: ``initdb`` and ``pg_ctl`` from
Debian's ``postgresql`` package (any version, found under /usr/lib/postgresql/*/bin) in a temporary folder,
listening on 127.0.0.1 on a free port, never a system service. As root it runs as the ``postgres`` user
(initdb refuses root). Durability is off (fsync, synchronous_commit): nothing in it outlives ``stop()``.
"""
from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Sequence

from .db import redact

USER = "kbs"
FAST = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries here (or no user to run them as): the reason, for a skip."""


def find_bindir() -> Path:
    """The folder holding initdb and pg_ctl: on PATH, else Debian's newest /usr/lib/postgresql/<N>/bin."""
    on_path = shutil.which("initdb")
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: _version(p.parent.name), reverse=True)
    for folder in ([Path(on_path).parent] if on_path else []) + debian:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    raise PostgresUnavailable("PostgreSQL's initdb/pg_ctl not found (on PATH or /usr/lib/postgresql/*/bin): "
                              "apt-get install postgresql, or run make test as root")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


class Cluster:
    """``cluster = Cluster.start(); cluster.database("t1")`` → a URL; ``cluster.stop()`` removes everything."""

    def __init__(self, bindir: Path, folder: Path, run_as: str | None):
        self.bindir, self.folder, self.run_as = bindir, folder, run_as
        self.data, self.log = folder / "data", folder / "server.log"
        self.password = secrets.token_urlsafe(16)
        self.port = 0

    @classmethod
    def start(cls, settings: Sequence[str] = ()) -> "Cluster":
        """initdb + pg_ctl start; ``settings``: extra ``name=value`` server settings (e.g. log_statement=all)."""
        bindir = find_bindir()
        run_as = None
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresUnavailable("running as root and there is no 'postgres' user for initdb") from None
            run_as = "postgres"
        cluster = cls(bindir, Path(tempfile.mkdtemp(prefix="kbs-pg-")), run_as)
        try:
            cluster._init()
            cluster._start(settings)
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def _run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")

    def version(self) -> tuple[int, ...]:
        out = subprocess.run([str(self.bindir / "initdb"), "--version"], capture_output=True, text=True).stdout
        return _version(out.split()[-1]) if out.split() else ()

    def _init(self) -> None:
        if self.run_as:
            user = pwd.getpwnam(self.run_as)
            os.chown(self.folder, user.pw_uid, user.pw_gid)
        secret = self.folder / "pwfile"
        secret.write_text(self.password + "\n")
        if self.run_as:
            os.chown(secret, pwd.getpwnam(self.run_as).pw_uid, -1)
        # a language's collation, as on a real server (not C): the tables must not depend on it
        collation = ["--locale-provider=icu", "--icu-locale=en-US"] if self.version() >= (15,) else []
        try:
            self._run("initdb", "-D", str(self.data), "-U", USER, f"--pwfile={secret}", "--auth-host=scram-sha-256",
                      "--auth-local=trust", "--encoding=UTF8", "--no-locale", *collation, "--no-sync")
        finally:
            secret.unlink()

    def _start(self, settings: Sequence[str]) -> None:
        for attempt in range(3):  # another process may take the free port first
            self.port = _free_port()
            options = " ".join(f"-c {s}" for s in (f"port={self.port}", "listen_addresses=127.0.0.1",
                                                   f"unix_socket_directories={self.folder}", *FAST, *settings))
            try:
                self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")
                return
            except RuntimeError:
                if attempt == 2:
                    raise RuntimeError(f"pg_ctl could not start the cluster: {self.server_log()[-2000:]}") from None

    def url(self, database: str = "postgres", password: bool = True) -> str:
        secret = f":{self.password}" if password else ""
        return f"postgresql://{USER}{secret}@127.0.0.1:{self.port}/{database}"

    def database(self, name: str) -> str:
        """A new empty database; its URL (with the password)."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            copy = " STRATEGY FILE_COPY" if conn.info.server_version >= 150000 else ""  # no WAL copy of template1
            conn.execute(f'CREATE DATABASE "{name}"{copy}')
        return self.url(name)

    def server_log(self) -> str:
        return self.log.read_text("utf-8", "replace") if self.log.exists() else ""

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            try:
                self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
            except (RuntimeError, subprocess.TimeoutExpired):
                pass
        shutil.rmtree(self.folder, ignore_errors=True)

    def __repr__(self) -> str:
        return f"Cluster({redact(self.url())})"
