"""The weekly report for the KB editors (issue 13 §2): TOP10 question clusters, KB gaps, articles never
suggested, rejected or adopted, expiring and expired articles, hot-spots and service figures, from the
query log and the agents' feedback. ``python -m report`` writes it; the server serves it at /admin/."""
from .build import Report, build_report, make_report
from .catalog import Articles, kb_articles, published_articles
from .csvs import csv_files
from .embedding import QuestionVectors
from .files import write_report
from .html import render_document, render_fragment, stylesheet
from .markdown import render_markdown
from .period import Period, PeriodError, parse_period

__all__ = ["Articles", "Period", "PeriodError", "QuestionVectors", "Report", "build_report", "csv_files",
           "kb_articles", "make_report", "parse_period", "published_articles", "render_document", "render_fragment",
           "render_markdown", "stylesheet", "write_report"]
