"""Helpers the tests import: paths, the fixed 'today', a searcher over a built index, plain HTTP, seeding
a query log without the writer's pause."""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator
from unittest import mock

from core.config import Config
from indexer.embed import Embedder
from indexer.assist_data import parse_assist
from indexer.scope_data import parse_scope
from indexer.store import load_index
from retrieval import QueryEncoder, Searcher
from storage import querylog

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).parent.parent
TODAY = dt.date(2026, 11, 22)
DEFAULT_SCOPE = len(parse_scope(None)[0])  # the shipped out-of-scope examples every index carries
DEFAULT_EXAMPLES = len(parse_assist(FIXTURES / "kb")[0]["examples"])  # the built-in triage examples (no _assist/)
BUILT_IN_TEXTS = DEFAULT_SCOPE + DEFAULT_EXAMPLES  # what every index embeds besides its articles


def make_searcher(root: Path, embedder: Embedder, config: Config) -> Searcher:
    index = load_index(root, embedder.id, embedder.dim)
    return Searcher(index, QueryEncoder(embedder, 64), config, today=lambda: TODAY)


def http(method: str, url: str, body=None, timeout: float = 10) -> tuple[int, dict]:
    """(status, JSON body) of one request; HTTP errors are returned, not raised."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def vote(client, question: str, action: str, pick: int | None = 0, **extra):
    """Ask ``question`` (Flask test client), then post feedback on the answer's suggestion number ``pick``
    (None: a gap report); the feedback's response."""
    answer = client.post("/v1/suggest", json={"question": question}).get_json()
    article_id = None if pick is None else answer["suggestions"][pick]["article_id"]
    return client.post("/v1/feedback", json={"request_id": answer["request_id"], "action": action,
                                             "article_id": article_id, **extra})


@contextlib.contextmanager
def no_gathering() -> Iterator[None]:
    """Seed a query log without its writer's pause: after a first entry the writer waits
    ``storage.querylog.GATHER_S`` (0.25 s) for more, so every seeding flush slept that long. The rows and
    the write path are the same; the gathering itself is tested in test_storage.py, without this."""
    with mock.patch.object(querylog, "GATHER_S", 0):
        yield
