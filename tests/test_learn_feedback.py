"""Agents' feedback becomes learned KB data (issue 22 §5): tied copies and 👍 count for the article, 👎 against it,
gap reports become the KB's unanswered questions; one client adds at most the cap per day; recomputed, not added."""
import datetime as dt

import pytest
import yaml

from indexer import cli
from indexer.learned import FILE, FOLDER, Entry, read_learned, write_learned
from indexer.parse import parse_kb
from learn.feedback import learn_from_feedback
from server import create_app
from storage.feedback import FeedbackEvent
from tests.helpers import TODAY, make_searcher


@pytest.fixture
def served(built, kb_copy, tmp_path, config, hash_embedder):
    """(app, vote(question, action, address, pick=0)) over the fixture KB copy the learning writes into."""
    app = create_app(config, searcher=make_searcher(tmp_path / "index", hash_embedder, config), today=lambda: TODAY)
    client = app.test_client()

    def vote(question, action, address="10.0.0.1", article=None):
        answer = client.post("/v1/suggest", json={"question": question}).get_json()
        ids = [s["article_id"] for s in answer["suggestions"]]
        chosen = None if action == "gap" else (article or ids[0])
        assert chosen is None or chosen in ids, f"{chosen} not suggested for {question}: {ids}"
        response = client.post("/v1/feedback", json={"request_id": answer["request_id"], "action": action,
                                                     "article_id": chosen}, environ_base={"REMOTE_ADDR": address})
        assert response.status_code == 201
        return chosen

    yield app, vote
    app.extensions["kbs_stores"].close()


def _learn(app, kb, cap=1, dry_run=False):
    return learn_from_feedback(kb, app.extensions["kbs_stores"].feedback.rows(), cap, dry_run)


def _wordings(kb):
    learned, problems, _ = read_learned(kb)
    assert not problems
    return {(a, e.text): (e.count, e.sources, e.state) for a, entries in learned.wordings.items() for e in entries}


def test_copies_from_two_clients_make_a_wording_one_client_adds_one_a_day(served, kb_copy):
    app, vote = served
    article = vote("那个面霜能放多久啊", "copy", "10.0.0.1")
    vote("那个面霜能放多久啊", "up", "10.0.0.2", article)
    for _ in range(20):  # a flood from one client on one day
        vote("那个面霜能放多久啊", "copy", "10.0.0.3", article)
    report, path = _learn(app, kb_copy)
    assert path == kb_copy / FOLDER / FILE
    assert _wordings(kb_copy) == {(article, "那个面霜能放多久啊"): (3, {"feedback": 3}, "suggested")}
    assert (report.votes, report.clients, report.wordings, report.new_wordings) == (22, 3, 1, 1)


def test_misfits_outweigh_fits_and_nothing_is_learned(served, kb_copy):
    app, vote = served
    article = vote("退货运费谁出", "copy", "10.0.0.1")
    vote("退货运费谁出", "down", "10.0.0.2", article)
    vote("退货运费谁出", "down", "10.0.0.3", article)
    _learn(app, kb_copy)
    assert _wordings(kb_copy) == {}


def test_gap_reports_become_unanswered_questions(served, kb_copy):
    app, vote = served
    vote("你们招代理吗", "gap", "10.0.0.1")
    vote("你们招代理吗？", "gap", "10.0.0.2")
    report, _ = _learn(app, kb_copy)
    learned, _, _ = read_learned(kb_copy)
    assert [(e.text, e.count, e.sources) for e in learned.unanswered] == [("你们招代理吗？", 2, {"feedback": 2})]
    assert report.unanswered == 1


def test_learning_again_changes_nothing_and_keeps_history_and_review(served, kb_copy):
    app, vote = served
    article = vote("面霜开封后能用多久", "copy", "10.0.0.1")
    vote("面霜开封后能用多久", "copy", "10.0.0.2", article)
    other = vote("多久能退款到账", "copy", "10.0.0.1")
    learned, _, _ = read_learned(kb_copy)
    day = dt.date(2026, 11, 1)
    learned.wordings[article] = [Entry("面霜开封后能用多久", 3, day, day, {"history": 3})]
    learned.wordings[other] = [Entry("多久能退款到账", 1, day, day, {"history": 1}, state="rejected")]
    write_learned(kb_copy, learned)
    _learn(app, kb_copy)
    first = (kb_copy / FOLDER / FILE).read_text(encoding="utf-8")
    _learn(app, kb_copy)
    assert (kb_copy / FOLDER / FILE).read_text(encoding="utf-8") == first, "recomputed, not added"
    words = _wordings(kb_copy)
    assert words[(article, "面霜开封后能用多久")] == (5, {"history": 3, "feedback": 2}, "suggested")
    assert words[(other, "多久能退款到账")] == (1, {"history": 1}, "rejected"), "a rejected wording is never counted up"
    assert dict(yaml.safe_load(first)["wordings"][article][0]["from"]) == {"feedback": 2, "history": 3}


def test_untied_rows_count_nowhere(served, kb_copy):
    app, vote = served
    store = app.extensions["kbs_stores"].feedback
    for n in range(30):  # rows of an older version, or written around the API
        store.add(FeedbackEvent("伪造的问题", "copy", "cream-shelf-life", "v1"))
    report, _ = _learn(app, kb_copy)
    assert report.untied == 30 and report.votes == 0 and _wordings(kb_copy) == {}


def test_the_build_uses_a_feedback_wording_once_it_has_the_support(served, kb_copy, config):
    app, vote = served
    article = vote("面霜放了两年还能用吗", "copy", "10.0.0.1")
    vote("面霜放了两年还能用吗", "copy", "10.0.0.2", article)
    _learn(app, kb_copy)
    parsed = parse_kb(kb_copy, today=TODAY)
    ids = [a.id for a in parsed.articles]
    assert (article, "面霜放了两年还能用吗") in parsed.learned.phrasings(2, ids)
    assert parsed.learned.phrasings(3, ids) == []


def test_the_command(served, kb_copy, config, capsys):
    app, vote = served
    vote("面霜保质期多久", "copy")
    app.extensions["kbs_stores"].close()
    flags = ["learn-feedback", "--kb", str(kb_copy), "--feedback-db", config.feedback_db]
    assert cli.main([*flags, "--dry-run"]) == 0
    assert "1 tied votes from 1 clients" in capsys.readouterr().out and not (kb_copy / FOLDER / FILE).exists()
    assert cli.main(flags) == 0 and (kb_copy / FOLDER / FILE).exists()
    missing = ["learn-feedback", "--kb", str(kb_copy), "--feedback-db", str(kb_copy / "none.sqlite3")]
    assert cli.main(missing) == 2 and "no feedback database" in capsys.readouterr().err
