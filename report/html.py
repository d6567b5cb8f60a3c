"""The report as HTML: a fragment the admin page shows (no script, no style attribute: the server's CSP
allows neither), and a whole page for the file, with the stylesheet inlined so it opens anywhere."""
from __future__ import annotations

from html import escape
from importlib import resources

from . import charts
from .build import Report
from .content import FIGURES, Cell, Section, Table, header_lines, sections

STYLESHEET = "report.css"


def stylesheet() -> str:
    return resources.files(__package__).joinpath("static", STYLESHEET).read_text("utf-8")


def render_fragment(report: Report) -> str:
    parts = [f'<article class="kbs-report"><header><h1>每周报告 Weekly report · {escape(report.period.label)}</h1>',
             *(f'<p class="meta">{escape(line)}</p>' for line in header_lines(report)), "</header>"]
    if report.empty:
        parts.append('<p class="empty">No questions and no feedback were recorded in this period.</p>')
    for section in sections(report):
        parts.append(_section(section, _charts(report, section.id)))
    parts.append("</article>")
    return "".join(parts)


def render_document(report: Report) -> str:
    return (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>Weekly report {escape(report.period.label)}</title><style>{stylesheet()}</style></head>"
            f"<body>{render_fragment(report)}</body></html>\n")


def _charts(report: Report, section_id: str) -> str:
    if section_id != "hotspots" or report.empty:
        return ""
    h = report.hotspots
    figures = [charts.day_columns(h.per_day), charts.share_lines(h.per_day)]
    if h.per_intent:
        figures.insert(0, charts.intent_bars(h.per_intent))
    return "".join(f'<figure class="chart">{svg}</figure>' for svg in figures)


def _section(section: Section, figures: str) -> str:
    tables = "".join(_tiles(t) if t.columns == FIGURES else _table(t) for t in section.tables)
    if figures:  # the charts say it; their numbers one click away
        tables = f"<details><summary>数据表 The numbers</summary>{tables}</details>"
    return (f'<section id="{section.id}"><h2>{escape(section.title)}</h2><p class="intro">{escape(section.intro)}</p>'
            f"{figures}{tables}</section>")


def _tiles(table: Table) -> str:
    """A (figure, value) table as a strip of tiles: the headline numbers at a glance."""
    tiles = "".join(f"<div><dt>{escape(str(label))}</dt><dd>{_cell(value)}</dd></div>" for label, value in table.rows)
    return f'<dl class="figures {escape(table.name)}">{tiles}</dl>'


def _table(table: Table) -> str:
    title = f"<h3>{escape(table.title)}</h3>"
    if not table.rows:
        return f'{title}<p class="none">{escape(table.empty)}</p>'
    rows = table.rows[:table.shown] if table.shown else table.rows
    more = (f'<p class="more">{len(table.rows) - len(rows)} more in {escape(table.name)}.csv</p>'
            if len(rows) < len(table.rows) else "")
    head = "".join(f"<th>{escape(c)}</th>" for c in table.columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f'{title}<table class="{escape(table.name)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}'


def _cell(value: Cell) -> str:
    if value is None:
        return "—"
    if isinstance(value, tuple):
        return '<ul class="examples">' + "".join(f"<li>{escape(str(v))}</li>" for v in value) + "</ul>"
    return escape(str(value))
