"""Write a report to a folder: report.html (with charts), report.md and one CSV per table."""
from __future__ import annotations

from pathlib import Path

from .build import Report
from .csvs import csv_files
from .html import render_document
from .markdown import render_markdown


def write_report(report: Report, out: Path) -> tuple[Path, ...]:
    """The files written, report.html first; OSError when the folder cannot be written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = {"report.html": render_document(report), "report.md": render_markdown(report), **csv_files(report)}
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
    return tuple(out / name for name in files)
