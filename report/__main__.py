"""``python -m report``: the weekly report of the query log and the agents' feedback, for the KB editors.

Writes report.html (with charts), report.md (the same content) and one CSV per table into --out.
Exit codes: 0 written, 2 bad input (a date, the period, a missing index or KB, an embedder that does
not load, a folder that cannot be written) — one line, no traceback.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from core import config as cfg

from .period import PeriodError, date_or_today, parse_period

SETTINGS = ("embedder", "st_model", "st_query_prompt", "embed_threads", "embed_batch_size", "feedback_db",
            "query_log_db", "report_cluster_similarity", "report_utc_offset_hours", "expiry_warning_days")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m report", description="The weekly report of the query log and the agents' feedback, for the KB editors.",
        epilog="Example: python -m report --since 2026-11-15 --out artifacts/report   (the week 11-15 … 11-21)")
    p.add_argument("--since", required=True, help="first day of the period (YYYY-MM-DD, the shop's time zone)")
    p.add_argument("--until", help="the day after the last one (exclusive); default: a week after --since")
    p.add_argument("--out", required=True, help="folder to write report.html, report.md and the CSVs into")
    p.add_argument("--index", help="published index root whose articles are judged (default: setting index_dir)")
    p.add_argument("--kb", help="judge the articles of this KB folder as they are now, instead of the index's; its "
                                "_learned/ data is listed for review (default: setting kb_dir)")
    p.add_argument("--as-of", help="the day 'expiring in the next N days' counts from (default: today)")
    p.add_argument("--cache", help="folder of the question-embedding cache (default: <index>/cache)")
    cfg.add_arguments(p, SETTINGS)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        config = cfg.load({**cfg.overrides_from(args, SETTINGS), "index_dir": args.index})
        period = parse_period(args.since, args.until, config.report_utc_offset_hours)
        as_of = date_or_today(args.as_of, "as-of", config.report_utc_offset_hours)
    except (cfg.ConfigError, PeriodError) as exc:
        return _fail(exc)
    from indexer.embed import EmbedderError, create_embedder
    from indexer.store import IndexLoadError

    from .build import make_report
    from .catalog import kb_articles, published_articles
    from .embedding import QuestionVectors
    from .files import write_report

    started = time.perf_counter()
    try:
        articles = kb_articles(Path(args.kb), as_of) if args.kb else published_articles(Path(config.index_dir))
        vectors = QuestionVectors(create_embedder(config), Path(args.cache or Path(config.index_dir) / "cache"),
                                  config.embed_batch_size)
        report = make_report(config, period, articles, vectors, as_of, kb=Path(args.kb) if args.kb else None)
        files = write_report(report, Path(args.out))
    except (IndexLoadError, FileNotFoundError, EmbedderError, OSError) as exc:
        return _fail(exc)
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    s = report.service
    print(f"report {period.label}: {s.questions} questions, {sum(s.feedback.values())} feedback events, "
          f"{len(vectors.distinct)} distinct questions ({vectors.embedded} embedded, the rest cached) "
          f"in {time.perf_counter() - started:.1f} s")
    print(f"wrote {files[0]}, {files[1].name} and {len(files) - 2} CSV files")
    return 0


def _fail(exc: Exception) -> int:
    print(f"error: {exc}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
