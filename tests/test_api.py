"""Every endpoint and error case, through Flask's test client (fake embedder, fixture KB)."""
import pytest

from server import create_app
from tests.helpers import DEFAULT_EXAMPLES, DEFAULT_SCOPE, TODAY, make_searcher, vote

SUGGESTION_KEYS = {"article_id", "title", "category", "section", "anchor", "snippet", "highlights", "answer",
                   "reply_template", "source", "score", "scores", "products", "valid_until", "expired",
                   "other_sections", "notice"}


def ask(client, **body):
    return client.post("/v1/suggest", json=body)


def test_suggest_returns_ranked_suggestions_with_sources(client):
    response = ask(client, question="七天无理由退货运费谁出", top_k=3)
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"request_id", "suggestions", "confident", "confidence", "unconfident_reason", "out_of_scope",
                         "products_detected", "triage", "comfort", "index_version", "took_ms"}
    assert 1 <= len(body["suggestions"]) <= 3
    top = body["suggestions"][0]
    assert set(top) == SUGGESTION_KEYS
    assert top["article_id"] == "seven-day-return"
    assert top["section"] == "运费"
    assert top["source"] == "退换货/seven-day-return.md#运费"
    assert top["reply_template"] == "亲，签收7天内未使用可以无理由退货哦～"
    assert set(top["scores"]) == {"dense", "bm25", "questions"}
    start, end = top["highlights"][0]
    assert top["snippet"][start:end] in "七天无理由退货运费谁出"
    ids = [s["article_id"] for s in body["suggestions"]]
    assert len(ids) == len(set(ids)), "each article appears once"


def test_filters_product_and_weights(client):
    body = ask(client, question="保质期多久", filters={"category": "保质期"}, top_k=5).get_json()
    assert {s["category"] for s in body["suggestions"]} == {"保质期"}
    body = ask(client, question="保质期多久", product="玫瑰精华液").get_json()
    assert body["suggestions"][0]["article_id"] == "serum-shelf-life"
    assert "cream-shelf-life" not in [s["article_id"] for s in body["suggestions"]]
    body = ask(client, question="发货", weights={"bm25": 1, "dense": 0, "questions": 0}).get_json()
    assert body["suggestions"][0]["article_id"] == "shipping-time"


def test_an_ended_promotion_asked_about_comes_first_with_its_notice_and_never_confident(client):
    body = ask(client, question="夏季满减活动有什么优惠", top_k=10).get_json()
    top = body["suggestions"][0]
    assert top["article_id"] == "old-promo" and top["expired"] is True
    assert top["notice"] == "活动已于 2020-08-31 结束"
    assert body["confident"] is False
    assert all(s["notice"] is None for s in body["suggestions"][1:])


def test_an_ended_article_stays_out_of_questions_about_other_things(client):
    body = ask(client, question="退款多久到账", top_k=10).get_json()
    assert "old-promo" not in [s["article_id"] for s in body["suggestions"]]


def test_expired_articles_are_listed_last_when_asked_for(client):
    shown = ask(client, question="夏季满减活动有什么优惠", top_k=10, include_expired=True).get_json()
    flagged = [s for s in shown["suggestions"] if s["article_id"] == "old-promo"]
    assert flagged and flagged[0]["expired"] is True
    assert shown["suggestions"][-1]["article_id"] == "old-promo", "expired ones rank after valid ones"


def test_batch(client):
    response = client.post("/v1/suggest/batch", json={"questions": ["发货时间", "退款多久到账"], "top_k": 1})
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert [r["suggestions"][0]["article_id"] for r in results] == ["shipping-time", "refund-time"]


def test_article_health_ready_facets(client):
    article = client.get("/v1/articles/seven-day-return").get_json()
    assert article["title"] == "七天无理由退货" and "<h2>适用条件</h2>" in article["html"]
    assert article["validity"] == "valid"
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["ready"] is True
    assert ready.get_json()["counts"] == {"articles": 6, "chunks": 8, "phrasings": 18, "assist_examples": DEFAULT_EXAMPLES,
                                               "scope_examples": DEFAULT_SCOPE}
    facets = client.get("/v1/facets").get_json()
    assert "保质期" in facets["categories"] and "玫瑰面霜" in facets["products"]


def test_error_shape_is_pinned(client):
    response = client.post("/v1/suggest", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.get_json() == {"error": {"code": "invalid_json", "message": "the body is not valid JSON"}}


@pytest.mark.parametrize("kwargs, status, code", [
    ({"data": "{bad", "content_type": "application/json"}, 400, "invalid_json"),
    ({"json": {}}, 400, "invalid_request"),
    ({"json": {"question": ""}}, 400, "invalid_request"),
    ({"json": {"question": "   \n\t "}}, 400, "invalid_request"),
    ({"json": {"question": 42}}, 400, "invalid_request"),
    ({"json": {"question": "发货", "top_k": "5"}}, 400, "invalid_request"),
    ({"json": {"question": "发货", "top_k": True}}, 400, "invalid_request"),
    ({"json": {"question": "发货", "top_k": 0}}, 400, "invalid_request"),
    ({"json": {"question": "发货", "top_k": 21}}, 400, "invalid_request"),
    ({"json": {"question": "发货", "filters": ["x"]}}, 400, "invalid_request"),
    ({"json": {"question": "发货", "filters": {"colour": "red"}}}, 400, "invalid_request"),
    ({"json": {"question": "发货", "filters": {"category": "没有这个分类"}}}, 400, "invalid_request"),
    ({"json": {"question": "发货", "weights": {"dense": -1}}}, 400, "invalid_request"),
    ({"json": {"question": "发货", "surprise": 1}}, 400, "invalid_request"),
    ({"json": ["发货"]}, 400, "invalid_request"),
    ({"json": {"question": "发" * 2001}}, 413, "question_too_long"),
    ({"data": '{"question": "' + "x" * 70000 + '"}', "content_type": "application/json"}, 413, "payload_too_large"),
    ({"data": "question=发货", "content_type": "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"),
    ({"data": "发货", "content_type": "text/plain"}, 415, "unsupported_media_type"),
])
def test_bad_requests_get_clear_json_errors(client, kwargs, status, code):
    response = client.post("/v1/suggest", **kwargs)
    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["code"] == code and error["message"]


def test_question_at_the_limit_is_fine(client):
    assert ask(client, question="发" * 2000).status_code == 200


def test_batch_errors(client):
    assert client.post("/v1/suggest/batch", json={"questions": []}).status_code == 400
    assert client.post("/v1/suggest/batch", json={"questions": ["ok", ""]}).get_json()["error"]["message"] \
        == "'questions[1]' is empty"
    assert client.post("/v1/suggest/batch", json={"questions": ["x"] * 51}).status_code == 413


def test_404_405_and_unknown_article(client):
    assert client.get("/nowhere").get_json()["error"]["code"] == "not_found"
    response = client.get("/v1/suggest")
    assert response.status_code == 405 and response.get_json()["error"]["code"] == "method_not_allowed"
    assert "POST" in response.headers["Allow"]
    assert client.get("/v1/articles/nope").status_code == 404


def test_no_index_is_503_with_reason(tmp_path, config):
    app = create_app(config.replace(index_dir=str(tmp_path / "empty")))
    client = app.test_client()
    response = ask(client, question="发货")
    assert response.status_code == 503 and response.get_json()["error"]["code"] == "index_unavailable"
    assert "no published index" in response.get_json()["error"]["message"]
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["ready"] is False
    assert client.get("/healthz").status_code == 200


def test_unexpected_failure_is_a_500_without_stack_trace(app, client, monkeypatch):
    searcher = app.extensions["kbs_holder"].searcher

    def boom(query):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(searcher, "search", boom)
    response = ask(client, question="发货")
    assert response.status_code == 500
    assert response.get_json() == {"error": {"code": "internal_error",
                                             "message": "internal error; the incident was logged"}}
    assert b"Traceback" not in response.data and b"secret" not in response.data


def test_cors_allows_only_configured_origins(index_root, config, hash_embedder):
    config = config.replace(cors_origins="https://sidebar.example")
    app = create_app(config, searcher=make_searcher(index_root, hash_embedder, config), today=lambda: TODAY)
    client = app.test_client()
    allowed = client.post("/v1/suggest", json={"question": "发货"}, headers={"Origin": "https://sidebar.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://sidebar.example"
    other = client.post("/v1/suggest", json={"question": "发货"}, headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    preflight = client.options("/v1/suggest", headers={"Origin": "https://sidebar.example",
                                                       "Access-Control-Request-Method": "POST"})
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://sidebar.example"


def test_article_html_is_sanitized(kb_copy, tmp_path, config, hash_embedder):
    from indexer.build import build

    (kb_copy / "xss.md").write_text(
        "---\nid: xss\ntitle: XSS\n---\n## A\n<script>alert(1)</script><img src=x onerror=alert(2)> 正文。\n",
        encoding="utf-8")
    build(kb_copy, tmp_path / "index", hash_embedder, config)
    app = create_app(config, searcher=make_searcher(tmp_path / "index", hash_embedder, config))
    html = app.test_client().get("/v1/articles/xss").get_json()["html"]
    assert "<script" not in html and "onerror" not in html


def test_feedback_is_stored_with_the_served_question_and_exported_as_csv(index_root, config, hash_embedder):
    config = config.replace(admin_token="s3cret-token")
    app = create_app(config, searcher=make_searcher(index_root, hash_embedder, config), today=lambda: TODAY)
    client = app.test_client()
    answer = client.post("/v1/suggest", json={"question": "面霜保质期"}).get_json()
    top = answer["suggestions"][0]["article_id"]
    for body in ({"action": "up", "article_id": top, "question": "something else", "index_version": "v1"},
                 {"action": "copy", "article_id": top}):
        response = client.post("/v1/feedback", json={"request_id": answer["request_id"], **body})
        assert response.status_code == 201 and response.get_json()["id"] > 0
    assert vote(client, "你们卖手机吗", "gap", pick=None).status_code == 201
    export = client.get("/v1/feedback/export", headers={"Authorization": "Bearer s3cret-token"})
    assert export.status_code == 200 and export.mimetype == "text/csv"
    assert "attachment" in export.headers["Content-Disposition"]
    lines = export.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0] == "id,at,question,article_id,action,index_version,request_id,client"
    rows = [line.split(",") for line in lines[1:]]
    # the question and version stored are the served answer's, not what the body claimed
    assert [row[2:6] for row in rows] == [["面霜保质期", top, "up", answer["index_version"]],
                                          ["面霜保质期", top, "copy", answer["index_version"]],
                                          ["你们卖手机吗", "", "gap", answer["index_version"]]]
    assert rows[0][6] == rows[1][6] == answer["request_id"] != rows[2][6]


@pytest.mark.parametrize("body, status", [
    ({"request_id": "r", "action": "love", "article_id": "a"}, 400),
    ({"request_id": "r", "action": "up"}, 400),
    ({"request_id": "r", "action": "gap", "article_id": "a"}, 400),
    ({"request_id": "r", "question": "  ", "action": "gap"}, 400),
    ({"request_id": "r", "action": "gap", "extra": 1}, 400),
    ({"request_id": "r", "question": "x" * 2001, "action": "gap"}, 413),
    ({"question": "面霜保质期", "action": "gap"}, 400),  # an old client's feedback, tied to nothing
    ({"request_id": 7, "action": "gap"}, 400),
    ({"request_id": "no such answer", "action": "gap"}, 400),
])
def test_feedback_is_validated_like_suggest(client, body, status):
    response = client.post("/v1/feedback", json=body)
    assert response.status_code == status and response.get_json()["error"]["message"]


def test_feedback_must_name_a_served_answer_and_one_of_its_articles(app, client):
    """Hostile probe (issue 26 §4): 1,660 down votes for an article nobody was shown made it the week's most
    rejected. A vote names the answer (request_id) and an article that answer suggested."""
    made_up = client.post("/v1/feedback", json={"request_id": "A" * 22, "action": "down",
                                                "article_id": "cream-shelf-life"})
    assert made_up.status_code == 404 and made_up.get_json()["error"]["code"] == "unknown_request"
    answer = client.post("/v1/suggest", json={"question": "面霜保质期", "top_k": 1}).get_json()
    shown = answer["suggestions"][0]["article_id"]
    other = next(a for a in ("cream-shelf-life", "shipping-time", "refund-time") if a != shown)
    unshown = client.post("/v1/feedback", json={"request_id": answer["request_id"], "action": "down",
                                                "article_id": other})
    assert unshown.status_code == 422 and unshown.get_json()["error"]["code"] == "not_suggested"
    first = client.post("/v1/feedback", json={"request_id": answer["request_id"], "action": "down", "article_id": shown})
    again = client.post("/v1/feedback", json={"request_id": answer["request_id"], "action": "down", "article_id": shown})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json() == {"id": first.get_json()["id"], "duplicate": True}
    assert [row[3:5] for row in app.extensions["kbs_stores"].feedback.rows()] == [(shown, "down")]


def test_feedback_outside_the_window_is_refused(index_root, config, hash_embedder):
    app = create_app(config.replace(feedback_window_hours=1.0),
                     searcher=make_searcher(index_root, hash_embedder, config), today=lambda: TODAY)
    served = app.extensions["kbs_served"]
    now = [1_800_000_000.0]
    served.clock = lambda: now[0]
    client = app.test_client()
    answer = client.post("/v1/suggest", json={"question": "面霜保质期"}).get_json()
    now[0] += 3601
    late = client.post("/v1/feedback", json={"request_id": answer["request_id"], "action": "gap"})
    assert late.status_code == 404 and "1 hours" in late.get_json()["error"]["message"]


def test_feedback_is_append_only(app):
    import sqlite3

    store = app.extensions["kbs_stores"].feedback
    from storage.feedback import FeedbackEvent

    store.add(FeedbackEvent("q", "gap", None, None))
    with sqlite3.connect(store.db.path) as db, pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM feedback")


def test_sidebar_page_is_served(client):
    page = client.get("/")
    assert page.status_code == 200 and "知识库缺口" in page.get_data(as_text=True)
    assert client.get("/static/sidebar.js").status_code == 200


def test_feedback_the_database_cannot_store_is_a_503_the_client_can_retry(app, client, monkeypatch):
    import sqlite3

    def broken():
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(app.extensions["kbs_stores"].feedback.db, "transaction", broken)
    response = vote(client, "面霜保质期", "gap", pick=None)
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    assert response.get_json()["error"]["code"] == "storage_unavailable"


def test_the_servers_today_is_the_shops_date(index_root, config, hash_embedder):
    """Expiry follows the shop's calendar (report_utc_offset_hours), not the machine's time zone."""
    import datetime as dt

    searcher = make_searcher(index_root, hash_embedder, config)
    east = create_app(config.replace(report_utc_offset_hours=14), searcher=searcher).extensions["kbs_holder"]
    west = create_app(config.replace(report_utc_offset_hours=-12), searcher=searcher).extensions["kbs_holder"]
    assert east.today() == dt.datetime.now(dt.timezone(dt.timedelta(hours=14))).date()
    assert east.today() - west.today() >= dt.timedelta(days=1), "26 hours apart: never the same date"
