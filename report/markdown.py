"""The report as Markdown: the same sections and tables as the HTML, charts given by their tables."""
from __future__ import annotations

from .build import Report
from .content import Cell, Table, header_lines, sections


def render_markdown(report: Report) -> str:
    lines = [f"# 每周报告 Weekly report · {report.period.label}", "", *(f"- {_text(line)}" for line in header_lines(report))]
    if report.empty:
        lines += ["", "**No questions and no feedback were recorded in this period.**"]
    for section in sections(report):
        lines += ["", f"## {section.title}", "", _text(section.intro)]
        for table in section.tables:
            lines += ["", f"### {table.title}", "", *_table(table)]
    return "\n".join(lines) + "\n"


def _table(table: Table) -> list[str]:
    if not table.rows:
        return [_text(table.empty)]
    rows = table.rows[:table.shown] if table.shown else table.rows
    out = ["| " + " | ".join(_text(c) for c in table.columns) + " |", "|" + "---|" * len(table.columns)]
    out += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    if len(rows) < len(table.rows):
        out += ["", f"{len(table.rows) - len(rows)} more in `{table.name}.csv`."]
    return out


def _cell(value: Cell) -> str:
    if value is None:
        return "—"
    if isinstance(value, tuple):
        return " · ".join(_text(str(v)) for v in value)
    return _text(str(value))


def _text(text: str) -> str:
    """Customers' words stay text: no table break (|), no HTML a viewer would run, no Markdown markup."""
    text = " ".join(text.split())
    for char, escaped in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        text = text.replace(char, escaped)
    for char in "\\|*_`[]#":
        text = text.replace(char, "\\" + char)
    return text
