"""The weekly report (issue 13 §2): each section on a small planted log and feedback, with figures
computed by hand; clustering on hand-made vectors; the empty period; escaping in HTML and Markdown."""
import datetime as dt
import re

import numpy as np
import pytest

from indexer.embed import HashEmbedder
from indexer.records import Article
from report import Articles, QuestionVectors, csv_files, make_report, parse_period, render_document, \
    render_fragment, render_markdown
from report import cluster as cluster_module
from report.cluster import cluster
from report.embedding import question_key
from report.sources import open_sources
from storage.feedback import FeedbackEvent
from storage.querylog import Entry
from tests.helpers import no_gathering

UTC = dt.timezone.utc
AS_OF = dt.date(2026, 11, 22)
# The shop's week 2026-11-16 … 2026-11-22 at UTC+8 is [2026-11-15T16:00Z, 2026-11-22T16:00Z).
#      at (UTC)              question          top ids                         conf  ms    intent   urgency emotion
LOG = [
    ("2026-11-15T15:59:59", "发货没", ["dispatch-time"], True, 5, "物流", "normal", "neutral"),  # 11-15 23:59 local: out
    ("2026-11-15T16:00:00", "发货没", ["dispatch-time"], True, 60, "物流", "normal", "neutral"),  # 11-16 00:00: in
    ("2026-11-16T02:00:00", "发货没", ["dispatch-time", "couriers"], True, 10, "物流", "normal", "neutral"),
    ("2026-11-16T03:00:00", "亲，发货没？", ["dispatch-time"], True, 20, "物流", "high", "angry"),
    ("2026-11-17T02:00:00", "发货没呀", ["dispatch-time"], True, 30, "物流", "normal", "neutral"),
    ("2026-11-17T03:00:00", "退款多久到账", ["refund-time", "old-promo"], True, 40, "退换货", "high", "anxious"),
    ("2026-11-18T02:00:00", "你们卖手机吗", ["dispatch-time", "old-promo"], False, 50, "闲聊/其他", "low", "neutral"),
    ("2026-11-18T03:00:00", "你们卖手机吗？", [], False, 150, "闲聊/其他", "low", "neutral"),
    ("2026-11-22T16:00:00", "发货没", ["dispatch-time"], True, 5, "物流", "normal", "neutral"),  # 11-23 00:00: out
]
FEEDBACK = [  # at (UTC), question, action, article
    ("2026-11-16T02:01:00", "发货没", "copy", "dispatch-time"),
    ("2026-11-16T03:01:00", "亲，发货没？", "copy", "dispatch-time"),
    ("2026-11-16T03:02:00", "亲，发货没？", "up", "dispatch-time"),
    ("2026-11-17T03:01:00", "退款多久到账", "down", "refund-time"),
    ("2026-11-18T02:01:00", "你们卖手机吗", "gap", None),
    ("2026-11-22T16:00:01", "发货没", "copy", "dispatch-time"),  # next week
]
ARTICLES = [Article("dispatch-time", "发货时间", "物流", "物流/dispatch-time.md"),
            Article("couriers", "快递公司", "物流", "物流/couriers.md"),
            Article("refund-time", "退款到账时间", "退换货", "退换货/refund-time.md"),
            Article("old-promo", "国庆活动", "活动优惠", "活动优惠/old-promo.md", valid_until=dt.date(2026, 11, 17)),
            Article("d11-promo", "双11活动", "活动优惠", "活动优惠/d11-promo.md", valid_until=dt.date(2026, 11, 30)),
            Article("later-promo", "年货节", "活动优惠", "活动优惠/later-promo.md", valid_until=dt.date(2027, 1, 30)),
            Article("gift-wrap", "礼盒包装", "售前咨询", "售前咨询/gift-wrap.md")]


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def plant(config, log=LOG, feedback=FEEDBACK) -> None:
    """Write rows through the storage API, with chosen times (what the replay does)."""
    sources = open_sources(config, writable=True)
    with no_gathering():
        for at, question, top, confident, ms, intent, urgency, emotion in log:
            sources.query_log.record(Entry(_time(at).timestamp(), "suggest", question, tuple(top),
                                           tuple(1.0 for _ in top), confident, 0.9 if confident else 0.1, "v1", ms,
                                           intent, urgency, emotion, False, None))
        assert sources.query_log.flush()
    for n, (at, question, action, article) in enumerate(feedback):
        sources.feedback.add(FeedbackEvent(question, action, article, "v1", f"request-{n}"), at=_time(at))
    sources.close()


def report_of(config, tmp_path, since="2026-11-16", until=None):
    vectors = QuestionVectors(HashEmbedder(), tmp_path / "cache")
    return make_report(config, parse_period(since, until, 8.0), Articles({a.id: a for a in ARTICLES}, "test"),
                       vectors, AS_OF)


@pytest.fixture
def report(config, tmp_path):
    plant(config)
    return report_of(config, tmp_path)


# ---------------------------------------------------------------- pieces

def test_question_key_drops_what_does_not_change_the_question():
    assert question_key("亲，发货没？") == question_key("发货没呀") == question_key("发货没") == "发货没"
    assert question_key("在吗？ＡＢＣ码 偏大吗～") == "abc码偏大吗"
    assert question_key("订单号：[单号]到哪了 我手机139****5678") == "到哪了"
    assert question_key("我的订单[单号]还没发") == "我的订单还没发"  # only a number's own label goes
    long = "我上周就把衣服退回去了，你们仓库也显示签收了，到现在钱还没退给我，到底什么时候退款？"
    assert question_key(long) == "你们仓库也显示签收了到现在钱还没退给我到底什么时候退款"  # its ask, 30 characters
    assert question_key("？？？") == "？？？"  # nothing but punctuation: the text itself


def _unit(*components):
    v = np.array(components, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_complete_linkage_needs_every_pair_alike():
    # a–b 0.95 and b–c 0.95, but a–c only ~0.81: single linkage would chain all three
    angle = np.arccos(0.95)
    a, b, c = (_unit(np.cos(t), np.sin(t), 0) for t in (0, angle, 2 * angle))
    d = _unit(0, 0, 1)
    groups = cluster(np.stack([a, b, c, d]), [3, 2, 1, 5], similarity=0.9)
    assert groups[0] == [3]  # heaviest group first (weight 5)
    assert sorted(map(sorted, groups[1:])) == [[0, 1], [2]] or sorted(map(sorted, groups[1:])) == [[0], [1, 2]]
    assert all(float(np.stack([a, b, c, d])[i] @ np.stack([a, b, c, d])[j]) >= 0.9
               for g in groups for i in g for j in g)
    assert cluster(np.stack([a, b, c]), [1, 1, 1], similarity=0.8) == [[0, 1, 2]]


def test_cluster_edge_cases():
    assert cluster(np.zeros((0, 3), np.float32), [], 0.9) == []
    assert cluster(np.stack([_unit(1, 0)]), [4], 0.9) == [[0]]
    same = np.stack([_unit(1, 0), _unit(1, 0)])
    assert cluster(same, [1, 7], 0.99) == [[1, 0]]  # the most asked first inside a group too


def test_rows_past_the_linkage_limit_join_only_a_group_they_fit_all_of(monkeypatch):
    monkeypatch.setattr(cluster_module, "MAX_LINKED", 2)
    a, a2 = _unit(1, 0.05, 0), _unit(1, 0, 0)
    fits, misfit = _unit(1, 0.02, 0), _unit(0.8, 0.6, 0)
    groups = cluster(np.stack([a, a2, fits, misfit]), [5, 4, 1, 1], similarity=0.95)
    assert groups == [[0, 1, 2], [3]]


def test_period_is_whole_shop_days_in_utc_bounds():
    period = parse_period("2026-11-16", None, 8.0)
    assert period.bounds() == ("2026-11-15T16:00:00+00:00", "2026-11-22T16:00:00+00:00")
    assert len(period.days) == 7 and period.label == "2026-11-16 – 2026-11-22"
    assert parse_period("2026-11-16", "2026-11-17", 0).bounds() == ("2026-11-16T00:00:00+00:00",
                                                                    "2026-11-17T00:00:00+00:00")


# ---------------------------------------------------------------- sections on the planted week

def test_service_figures(report):
    s = report.service
    assert s.questions == 7  # the two rows just outside the week are not counted; the one at 00:00 is
    assert s.suggestions == 1 + 2 + 1 + 1 + 2 + 2 + 0
    assert s.confident_share == pytest.approx(5 / 7)
    assert s.feedback == {"up": 1, "down": 1, "copy": 2, "gap": 1}
    assert s.adoption_rate == pytest.approx(2 / 7)
    # latencies 10 20 30 40 50 60 150: p50 the 4th; p95 at position 6 × 0.95 = 5.7 → 60 + 0.7 × 90
    assert s.latency_p50_ms == pytest.approx(40.0)
    assert s.latency_p95_ms == pytest.approx(123.0)


def test_top_clusters(report):
    sizes = [t.size for t in report.top]
    assert sizes == [4, 2, 1]  # 发货没 ×4 (three wordings), 你们卖手机吗 ×2, 退款多久到账
    first = report.top[0]
    assert first.examples == ("发货没", "亲，发货没？", "发货没呀")
    assert (first.article_id, first.article_share, first.confident_share) == ("dispatch-time", 1.0, 1.0)
    second = report.top[1]
    assert second.examples == ("你们卖手机吗", "你们卖手机吗？")
    assert (second.article_id, second.article_share, second.confident_share) == ("dispatch-time", 0.5, 0.0)


def test_kb_gaps(report):
    first, second = report.gaps
    assert (first.size, first.unconfident, first.down, first.gap) == (3, 2, 0, 1)
    assert first.examples[0] == "你们卖手机吗" and first.article_id == "dispatch-time"
    assert (second.size, second.down, second.article_id, second.examples) == (1, 1, "refund-time", ("退款多久到账",))


def test_out_of_scope_questions_are_counted_but_are_not_kb_gaps(config, tmp_path):
    plant(config)
    sources = open_sources(config, writable=True)
    for question in ("你们招聘吗", "招聘客服吗"):
        sources.query_log.record(Entry(_time("2026-11-19T02:00:00").timestamp(), "suggest", question,
                                       ("dispatch-time",), (0.5,), False, 0.1, "v1", 10, out_of_scope="招聘"))
    assert sources.query_log.flush()
    sources.close()
    report = report_of(config, tmp_path)
    assert report.service.questions == 9 and report.service.out_of_scope == 2
    assert [g.examples for g in report.gaps] == [("你们卖手机吗", "你们卖手机吗？"), ("退款多久到账",)]
    assert "本店不处理 out of scope (not KB gaps) | 2" in render_markdown(report)


def test_feedback_tied_to_no_answer_is_counted_nowhere(config, tmp_path):
    """Hostile probe (issue 26 §4): a flood of down votes on an article, tied to no served answer (an old
    version's rows, or forged), made it the week's most rejected and gap #1. Only tied rows count."""
    plant(config)
    sources = open_sources(config, writable=True)
    for n in range(50):
        sources.feedback.add(FeedbackEvent("谁也没问过", "down", "gift-wrap", "v1"), at=_time("2026-11-18T03:00:00"))
        sources.feedback.add(FeedbackEvent(f"谁也没问过{n}", "gap", None, "v1"), at=_time("2026-11-18T03:00:00"))
    sources.close()
    report = report_of(config, tmp_path)
    assert report.service.feedback == {"up": 1, "down": 1, "copy": 2, "gap": 1}
    assert [u.article_id for u in report.articles.most_rejected] == ["refund-time"]
    assert all("谁也没问过" not in example for g in report.gaps for example in g.examples)


def test_articles(report):
    a = report.articles
    assert a.never_suggested == ("gift-wrap", "d11-promo", "later-promo")  # by category, then id
    assert [(u.article_id, u.count, u.suggested) for u in a.most_rejected] == [("refund-time", 1, 1)]
    assert [(u.article_id, u.count, u.suggested) for u in a.most_copied] == [("dispatch-time", 2, 5)]
    assert [(e.article_id, e.days_left, e.asked) for e in a.expiring] == [("d11-promo", 8, 0)]
    # old-promo ended 11-17: suggested that day (still valid) and on 11-18 (after its end)
    [expired] = a.expired_asked
    assert (expired.article_id, expired.asked, expired.last_asked) == ("old-promo", 1, dt.date(2026, 11, 18))


def test_hotspots(report):
    h = report.hotspots
    assert [(t.label, t.questions, t.urgent, t.angry) for t in h.per_intent] == [
        ("物流", 4, 1, 1), ("闲聊/其他", 2, 0, 0), ("退换货", 1, 1, 0)]
    assert [(t.label, t.questions) for t in h.per_day] == [
        ("2026-11-16", 3), ("2026-11-17", 2), ("2026-11-18", 2), ("2026-11-19", 0), ("2026-11-20", 0),
        ("2026-11-21", 0), ("2026-11-22", 0)]
    assert h.per_day[0].angry_share == pytest.approx(1 / 3) and h.per_day[3].angry_share is None
    assert h.overall.urgent_share == pytest.approx(2 / 7) and h.overall.angry_share == pytest.approx(1 / 7)


def test_the_learned_wordings_and_unanswered_questions_wait_for_review_most_customers_first(config, tmp_path):
    """Issue 22 §6: what import-chats and learn-feedback suggested, with the agents' replies beside the questions
    the KB could not answer; accepted and rejected entries are done with."""
    from indexer.learned import Entry, Learned, write_learned

    kb = tmp_path / "kb"
    day = dt.date(2026, 11, 20)
    write_learned(kb, Learned(
        wordings={"dispatch-time": [Entry("啥时候发出", 3, day, day, {"history": 2, "feedback": 1}),
                                    Entry("发了吗亲", 1, day, day, {"feedback": 1}),
                                    Entry("已审过", 9, day, day, {"history": 9}, state="accepted")],
                  "refund-time": [Entry("钱几时回来", 5, day, day, {"history": 5})]},
        unanswered=[Entry("能开专票吗", 2, day, day, {"history": 2}, replies=["亲，我们只开普票哦"]),
                    Entry("不要了", 4, day, day, {"history": 4}, state="rejected")]))
    plant(config)
    report = make_report(config, parse_period("2026-11-16", None, 8.0), Articles({a.id: a for a in ARTICLES}, "t"),
                         QuestionVectors(HashEmbedder(), tmp_path / "cache"), AS_OF, kb=kb)
    assert [(w.text, w.count, w.sources, w.used) for w in report.learned.to_review] == [
        ("钱几时回来", 5, "history 5", True), ("啥时候发出", 3, "feedback 1, history 2", True),
        ("发了吗亲", 1, "feedback 1", False)]
    assert [(u.text, u.replies) for u in report.learned.unanswered] == [("能开专票吗", ("亲，我们只开普票哦",))]
    md, csvs = render_markdown(report), csv_files(report)
    assert "钱几时回来" in md and "亲，我们只开普票哦" in md and "已审过" not in md
    assert csvs["unanswered.csv"].splitlines()[1].startswith("能开专票吗,2,history 2")
    empty = report_of(config, tmp_path)  # config's kb_dir has no _learned/: the section says where it looked
    assert "no learned data at" in render_markdown(empty)


def test_rows_without_triage_labels_say_so(config, tmp_path):
    plant(config, log=[(at, q, top, c, ms, None, None, None) for at, q, top, c, ms, *_ in LOG], feedback=[])
    report = report_of(config, tmp_path)
    assert report.hotspots.per_intent == () and report.hotspots.overall.urgent_share is None
    assert "No triage labels in this period" in render_markdown(report)


def test_html_markdown_and_csv_say_the_same(report):
    html, md, csvs = render_fragment(report), render_markdown(report), csv_files(report)
    for text in ("亲，发货没？", "你们卖手机吗", "退款多久到账", "双11活动", "gift-wrap", "28.6%", "123.0"):
        assert text in html and text in md, text
    assert set(csvs) == {"service.csv", "top_clusters.csv", "kb_gaps.csv", "never_suggested.csv",
                         "most_rejected.csv", "most_copied.csv", "expiring.csv", "expired_still_asked.csv",
                         "per_intent.csv", "per_day.csv", "wordings_to_review.csv", "unanswered.csv"}
    assert all(c.startswith("\ufeff") for c in csvs.values())  # Excel reads the Chinese right
    assert "adoption rate (copies / questions),0.2857" in csvs["service.csv"]
    assert csvs["top_clusters.csv"].splitlines()[1].startswith("1,4,发货没 | 亲，发货没？ | 发货没呀,dispatch-time")


def test_charts_are_inline_svg_without_script_or_style(report):
    html = render_fragment(report)
    assert html.count("<svg") == 3  # per intent, per day, shares per day
    assert 'aria-label="Questions per intent, angry ones in red"' in html
    assert "<title>物流: 4 questions</title>" in html


# ---------------------------------------------------------------- empty period and hostile text

def test_an_empty_period_is_a_valid_report(config, tmp_path):
    plant(config)
    report = report_of(config, tmp_path, since="2026-10-01", until="2026-10-08")
    assert report.empty and report.service.questions == 0 and report.top == () and report.gaps == ()
    assert report.service.adoption_rate is None and report.service.latency_p50_ms is None
    html, md = render_document(report), render_markdown(report)
    for text in (html, md):
        assert "No questions and no feedback were recorded in this period." in text
    assert "<svg" not in html
    assert csv_files(report)["top_clusters.csv"] == "\ufeff#,questions,examples,article,title,answered first with it," \
                                                    "confident\r\n"


def test_no_log_files_at_all_is_an_empty_report_that_says_where_it_looked(config, tmp_path):
    report = report_of(config, tmp_path)
    assert report.empty and any(config.query_log_db in note for note in report.notes)
    assert not (tmp_path / "feedback.sqlite3").exists()  # reading creates nothing


HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>发货没 | **x** [a](javascript:alert(3))"


def test_question_text_is_escaped_everywhere(config, tmp_path):
    plant(config, log=[("2026-11-16T02:00:00", HOSTILE, ["dispatch-time"], False, 5, "物流", "high", "angry")],
          feedback=[("2026-11-16T02:01:00", "=cmd|' /C calc'!A0", "gap", None)])
    report = report_of(config, tmp_path)
    fragment, document, md = render_fragment(report), render_document(report), render_markdown(report)
    for html in (fragment, document):
        assert "<script" not in html and "<img" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" in html
        assert not re.search(r"<[^>]+\son\w+\s*=", html), "no event-handler attribute"
    assert not re.search(r"\sstyle\s*=", fragment), "no style attribute (the CSP allows none)"
    assert "<script" not in md and "&lt;script&gt;" in md and "\\|" in md and "\\*\\*x\\*\\*" in md
    assert "'=cmd|' /C calc'!A0" in csv_files(report)["kb_gaps.csv"]  # formula neutralised
