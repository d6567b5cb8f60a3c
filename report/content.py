"""The report as sections of tables: what the HTML, the Markdown and the CSVs all render, so that
the three say the same thing and no figure is formatted in two places."""
from __future__ import annotations

from dataclasses import dataclass

from .build import Report
from .gaps import SHOWN as GAPS_SHOWN
from .learned import SHOWN as LEARNED_SHOWN

Cell = str | int | float | tuple | None
FIGURES = ("figure", "value")  # the columns of a table of headline figures (the HTML shows it as tiles)


class Percent(float):
    """A share, shown as 52.3% (the CSV keeps the number)."""

    def __str__(self) -> str:
        return f"{self * 100:.1f}%"


def share(value: float | None) -> Percent | None:
    return None if value is None else Percent(value)


@dataclass(frozen=True)
class Table:
    name: str  # the CSV's file name, without .csv
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    empty: str  # said instead of an empty table
    shown: int | None = None  # rows in the HTML and Markdown (the CSV has all)


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    intro: str
    tables: tuple[Table, ...]


def sections(report: Report) -> tuple[Section, ...]:
    return (_service(report), _hotspots(report), _top(report), _gaps(report), _learned(report), _articles(report),
            _expiry(report))


def _service(r: Report) -> Section:
    s = r.service
    rows = (("回答的问题 questions answered", s.questions), ("展示的建议 suggestions served", s.suggestions),
            ("有把握的比例 share confident", share(s.confident_share)),
            ("本店不处理 out of scope (not KB gaps)", s.out_of_scope),
            ("采纳率 adoption rate (copies / questions)", share(s.adoption_rate)),
            ("复制 copies", s.feedback["copy"]), ("👍 up", s.feedback["up"]), ("👎 down", s.feedback["down"]),
            ("知识库缺口 gap reports", s.feedback["gap"]),
            ("延迟 latency p50 (ms)", _ms(s.latency_p50_ms)), ("延迟 latency p95 (ms)", _ms(s.latency_p95_ms)))
    return Section("service", "服务数据 Service figures",
                   "From the query log (one row per answered question) and the agents' feedback events. "
                   "Latency is the server's time per question; percentiles interpolate linearly.",
                   (Table("service", "Figures", FIGURES, rows, "—"),))


def _top(r: Report) -> Section:
    rows = tuple((n, t.size, t.examples, t.article_id, r.title(t.article_id), share(t.article_share),
                  share(t.confident_share)) for n, t in enumerate(r.top, start=1))
    return Section("top", "TOP10 高频问题 Question clusters",
                   "Questions clustered on their embeddings (every two questions in a cluster are alike), the most "
                   "asked first; each with its most asked wordings and the article suggested first most often.",
                   (Table("top_clusters", "TOP10", ("#", "questions", "examples", "article", "title",
                                                    "answered first with it", "confident"), rows,
                          "No questions in this period."),))


def _gaps(r: Report) -> Section:
    rows = tuple((n, g.size, g.unconfident, g.down, g.gap, g.examples, g.article_id, r.title(g.article_id))
                 for n, g in enumerate(r.gaps, start=1))
    return Section("gaps", "知识库缺口 KB gaps — the editors' to-do list",
                   "Clusters of questions with no confident answer, or whose suggestion an agent rejected (👎) or "
                   "reported as a gap, largest first: write or fix the article these customers needed.",
                   (Table("kb_gaps", "KB gaps", ("#", "signals", "not confident", "👎", "gap", "examples",
                                                 "article suggested or rejected", "title"), rows,
                          "No gaps in this period.", GAPS_SHOWN),))


def _learned(r: Report) -> Section:
    learned = r.learned
    none = learned.where if not learned.found else None
    return Section("learned", "新词待审 Learned from chats and feedback — to review",
                   f"From {learned.where}: the customers' own wordings the chat history and the agents' copies and "
                   "votes suggest, and the questions the KB could not answer, most customers first. Accept or "
                   "reject each in that file (state), then rebuild; 'used' ones the build already adds.", (
                       Table("wordings_to_review", "New wordings to accept",
                             ("article", "title", "wording", "customers", "from", "last seen", "used"),
                             tuple((w.article_id, r.title(w.article_id), w.text, w.count, w.sources, w.last_seen,
                                    "yes" if w.used else "no") for w in learned.to_review),
                             none or "No wording waits for review.", LEARNED_SHOWN),
                       Table("unanswered", "Questions the KB could not answer",
                             ("question", "customers", "from", "last seen", "what the agents replied"),
                             tuple((u.text, u.count, u.sources, u.last_seen, u.replies) for u in learned.unanswered),
                             none or "No unanswered question waits for review.", LEARNED_SHOWN)))


def _articles(r: Report) -> Section:
    a = r.articles
    never = tuple((i, r.title(i)) for i in a.never_suggested) if r.service.questions else ()
    return Section("articles", "文章 Articles", "Over the period's questions and feedback.", (
        Table("never_suggested", "Never suggested", ("article", "title"), never,
              "Every article was suggested at least once." if r.service.questions else "No questions in this period."),
        Table("most_rejected", "Most rejected (👎)", ("article", "title", "👎", "suggested for"),
              tuple((u.article_id, r.title(u.article_id), u.count, u.suggested) for u in a.most_rejected),
              "No 👎 in this period."),
        Table("most_copied", "Most copied (adopted)", ("article", "title", "copies", "suggested for"),
              tuple((u.article_id, r.title(u.article_id), u.count, u.suggested) for u in a.most_copied),
              "No copies in this period.")))


def _expiry(r: Report) -> Section:
    a = r.articles
    return Section("expiry", "有效期 Expiring and expired",
                   f"valid_until within {r.expiry_days} days of {r.as_of.isoformat()}: renew, replace or let lapse. "
                   "Expired articles still suggested (flagged as ended) for questions after their end: customers "
                   "still ask, so write what replaced them.", (
                       Table("expiring", f"Expiring in the next {r.expiry_days} days",
                             ("article", "title", "valid_until", "days left", "suggested for"),
                             tuple((e.article_id, r.title(e.article_id), e.valid_until.isoformat(), e.days_left,
                                    e.asked) for e in a.expiring), "Nothing expires soon."),
                       Table("expired_still_asked", "Expired, still asked about",
                             ("article", "title", "valid_until", "questions after its end", "last asked"),
                             tuple((e.article_id, r.title(e.article_id), e.valid_until.isoformat(), e.asked,
                                    e.last_asked.isoformat() if e.last_asked else None) for e in a.expired_asked),
                             "No question hit an expired article.")))


def _hotspots(r: Report) -> Section:
    h = r.hotspots
    columns = ("questions", "urgent", "angry", "share urgent", "share angry")

    def row(t):
        return (t.label, t.questions, t.urgent, t.angry, share(t.urgent_share), share(t.angry_share))

    overall = h.overall
    intro = (f"Of {overall.labelled} questions with triage labels, {share(overall.urgent_share)} were urgent and "
             f"{share(overall.angry_share)} angry." if overall.labelled else
             "No triage labels in this period (an index built before the triage data existed logs none).")
    return Section("hotspots", "热点 Hot-spots", intro, (
        Table("per_intent", "Questions per intent", ("intent", *columns), tuple(row(t) for t in h.per_intent),
              "No triage labels."),
        Table("per_day", "Questions per day", ("day", *columns), tuple(row(t) for t in h.per_day), "—")))


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def header_lines(r: Report) -> tuple[str, ...]:
    """The lines under the title: what the report covers and where it comes from."""
    return (f"Period {r.period.label} (UTC{r.period.utc_offset_hours:+g}), generated {r.generated_at}",
            f"Articles: {r.articles_source}; clustering: {r.embedder}", *r.notes)
