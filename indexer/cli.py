"""``python -m indexer`` (also ``kbs-index``): build, lint and diff the knowledge-base index.

Heavy imports (faiss, the embedder) happen inside the subcommands, so
``--help`` and ``lint`` stay instant.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core import config as cfg

EXIT_OK, EXIT_KB_ERRORS, EXIT_FAILURE = 0, 1, 2
BUILD_SETTINGS = ("embedder", "st_model", "st_query_prompt", "st_passage_prompt", "embed_batch_size",
                  "embed_threads", "chunk_max_chars", "keep_versions", "model_reuse_max_drift",
                  "dictionary_dir")
LINT_SETTINGS = ("stale_after_days", "min_questions", "expiry_warning_days")
IMPORT_SETTINGS = ("embedder", "align_min_evidence", "align_question_rank", "align_unanswered_below")
FEEDBACK_SETTINGS = ("feedback_db", "learned_feedback_cap")


def _date(text: str):
    import datetime as dt

    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m indexer", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    build = sub.add_parser("build", help="build and publish a new index version from the KB",
                           description="Parse, chunk and embed the KB, then publish a new index version "
                                       "atomically. Unchanged text reuses its cached embedding.")
    build.add_argument("--kb", help="KB folder (default: setting kb_dir)")
    build.add_argument("--out", help="index root to publish into (default: setting index_dir)")
    build.add_argument("--full", action="store_true", help="embed everything again, ignoring the cache")
    build.add_argument("--no-progress", action="store_true",
                       help="no progress (default: a bar with an ETA per stage on a terminal, plain lines in a log)")
    cfg.add_arguments(build, BUILD_SETTINGS)

    lint = sub.add_parser("lint", help="check the KB and print problems as file:line: message",
                          description="Parse the KB, then check what editors get wrong: platform compliance "
                                      "(word list <kb>/_lint/compliance.yaml), contradictions between articles, "
                                      "stale content and coverage.")
    lint.add_argument("--kb", help="KB folder (default: setting kb_dir)")
    lint.add_argument("--strict", action="store_true", help="exit non-zero on warnings too")
    cfg.add_arguments(lint, LINT_SETTINGS)

    diff = sub.add_parser("diff", help="articles added, changed or removed since the published index")
    diff.add_argument("--kb", help="KB folder (default: setting kb_dir)")
    diff.add_argument("--out", help="index root (default: setting index_dir)")
    diff.add_argument("--json", action="store_true", help="print JSON instead of text")

    chats = sub.add_parser(
        "import-chats", help="learn the shop's own wordings from its exported chat history",
        description="Read exported chats (JSONL: a session or a message per line; CSV/XLSX: a message per row), "
                    "mask personal data, find which article each agent answer restates (searching the published "
                    "index) and count the customers' questions into <kb>/_learned/wordings.yaml for the editors "
                    "to review; the next build uses them. Sessions imported before are skipped. "
                    "See docs/learning.md.")
    chats.add_argument("files", nargs="+", type=Path, metavar="FILE", help="exported chats (.jsonl, .csv, .xlsx)")
    chats.add_argument("--kb", help="KB folder whose _learned/ data grows (default: setting kb_dir)")
    chats.add_argument("--out", help="the published index to align against (default: setting index_dir)")
    chats.add_argument("--numeric-roles", choices=("auto", "0/1", "1/2"), default="auto",
                       help="what numeric sender codes mean: 0/1 or 1/2 = customer/agent (auto: guessed from the "
                            "codes present; refused when only 1s appear)")
    chats.add_argument("--columns", nargs="+", default=[], metavar="FIELD=COLUMN",
                       help="name the column of a field the header does not tell (fields: session, role, text, "
                            "at, order_id, agent, type), e.g. --columns text=聊天内容 at=时间戳")
    chats.add_argument("--before", type=_date, help="only sessions that started before this day (YYYY-MM-DD)")
    chats.add_argument("--dry-run", action="store_true", help="read and align, print the counts, write nothing")
    chats.add_argument("--no-progress", action="store_true", help="no progress bar / lines")
    cfg.add_arguments(chats, IMPORT_SETTINGS)

    votes = sub.add_parser(
        "learn-feedback", help="learn the shop's own wordings from the agents' copies and votes",
        description="Read the agents' feedback (feedback_db, or database_url's PostgreSQL), keep the votes tied to "
                    "a served answer, and recompute the feedback counts of <kb>/_learned/wordings.yaml: a copy or 👍 "
                    "says the article fits the question, a 👎 that it does not, a gap report that the KB lacks it. "
                    "Each client adds at most learned_feedback_cap per wording and day. Running it again changes "
                    "nothing; the history's counts and the editors' states stay. See docs/learning.md.")
    votes.add_argument("--kb", help="KB folder whose _learned/ data is updated (default: setting kb_dir)")
    votes.add_argument("--dry-run", action="store_true", help="print the counts, write nothing")
    cfg.add_arguments(votes, FEEDBACK_SETTINGS)

    args = parser.parse_args(argv)
    try:
        own = {"build": BUILD_SETTINGS, "lint": LINT_SETTINGS, "import-chats": IMPORT_SETTINGS,
               "learn-feedback": FEEDBACK_SETTINGS}.get(args.command, ())
        config = cfg.load(cfg.overrides_from(args, own))
    except cfg.ConfigError as exc:
        parser.error(str(exc))
    kb = Path(args.kb or config.kb_dir)
    try:
        if args.command == "lint":
            return _lint(kb, args.strict, config)
        if args.command == "import-chats":
            return _import_chats(kb, Path(args.out or config.index_dir), config, args)
        if args.command == "learn-feedback":
            return _learn_feedback(kb, config, args.dry_run)
        if args.command == "diff":
            return _diff(kb, Path(args.out or config.index_dir), args.json)
        return _build(kb, Path(args.out or config.index_dir), config, args.full, not args.no_progress)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE


def _print_diagnostics(diagnostics) -> None:
    for diagnostic in diagnostics:
        print(diagnostic, file=sys.stderr)


def _lint(kb: Path, strict: bool, config: cfg.Config) -> int:
    from .lint import run_checks
    from .parse import parse_kb

    parsed = parse_kb(kb)
    checked = list(parsed.diagnostics)
    if kb.is_dir():
        checked += run_checks(kb, parsed.articles, config)
    checked.sort(key=lambda d: (d.path, d.line))
    _print_diagnostics(checked)
    errors = sum(d.severity == "error" for d in checked)
    warnings = len(checked) - errors
    triage = (f"; triage data: {len(parsed.assist['examples'])} examples, {len(parsed.assist['comfort'])} comfort "
              f"lines" if parsed.assist else "")
    print(f"{len(parsed.articles)} articles OK{triage}; {errors} error(s), {warnings} warning(s)")
    return EXIT_KB_ERRORS if errors or (strict and warnings) else EXIT_OK


def _diff(kb: Path, root: Path, as_json: bool) -> int:
    from .parse import parse_kb
    from .store import IndexLoadError, read_manifest, resolve

    parsed = parse_kb(kb)
    try:
        before = read_manifest(resolve(root))["kb"]["articles"]
    except IndexLoadError as exc:
        print(f"note: {exc}; every article counts as added", file=sys.stderr)
        before = {}
    now = {a.id: a.content_hash for a in parsed.articles}
    changes = {
        "added": sorted(set(now) - set(before)),
        "changed": sorted(k for k in set(now) & set(before) if now[k] != before[k]),
        "removed": sorted(set(before) - set(now)),
    }
    if as_json:
        print(json.dumps(changes, ensure_ascii=False, indent=2))
    else:
        for kind, sign in (("added", "+"), ("changed", "~"), ("removed", "-")):
            for article_id in changes[kind]:
                print(f"{sign} {article_id}")
        print(", ".join(f"{len(v)} {k}" for k, v in changes.items()))
    if parsed.errors:
        _print_diagnostics(parsed.errors)
        print("note: articles with errors are left out above; run lint", file=sys.stderr)
    return EXIT_OK


def _build(kb: Path, root: Path, config: cfg.Config, full: bool, show_progress: bool) -> int:
    from assist.train import trainers_for

    from .build import BuildLockedError, KBError, build
    from .embed import EmbedderError, create_embedder
    from .parse import parse_kb
    from .progress import Progress

    progress = Progress(enabled=show_progress)
    parsed = parse_kb(kb, progress=lambda files: progress.stage("parse", files, "files"))  # a broken KB fails fast
    progress.finish()
    if parsed.errors:
        _print_diagnostics(parsed.diagnostics)
        print(f"error: the KB has {len(parsed.errors)} error(s); nothing was published", file=sys.stderr)
        return EXIT_KB_ERRORS
    try:
        embedder = create_embedder(config, lazy=True)  # loaded only if some text is not in the cache
    except EmbedderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE

    try:
        report = build(kb, root, embedder, config, full=full, progress=progress, parsed=parsed,
                       trainers=trainers_for(config))
    except (KBError, BuildLockedError, EmbedderError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except OSError as exc:  # disk full, permissions, …: one line, no traceback; the published index is intact
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"error: cannot write the index{where}: {exc.strerror or exc}; the published index is "
              f"unchanged", file=sys.stderr)
        return EXIT_FAILURE
    _print_diagnostics(report.warnings)
    print(report.summary())
    print(f"index: {report.path}")
    return EXIT_OK


def _import_chats(kb: Path, root: Path, config: cfg.Config, args) -> int:
    from learn.align import Settings
    from learn.exports import ChatFormatError, Options, read_exports
    from learn.importer import import_sessions
    from retrieval import QueryEncoder, Searcher

    from .embed import EmbedderError, create_embedder
    from .progress import Progress
    from .store import IndexLoadError, load_index

    columns = []
    for item in args.columns:
        field, _, column = item.partition("=")
        if not column or field not in ("session", "role", "text", "at", "order_id", "agent", "type"):
            print(f"error: --columns {item!r}: write FIELD=COLUMN with FIELD one of session, role, text, at, "
                  "order_id, agent, type", file=sys.stderr)
            return EXIT_FAILURE
        columns.append((field, column))
    missing = [str(f) for f in args.files if not f.is_file()]
    if missing:
        print(f"error: no such file: {', '.join(missing)}", file=sys.stderr)
        return EXIT_FAILURE
    try:
        read = read_exports(args.files, Options(args.numeric_roles, tuple(columns), config.report_utc_offset_hours))
    except ChatFormatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    for problem in read.problems[:50]:
        print(f"{problem}: skipped", file=sys.stderr)
    if len(read.problems) > 50:
        print(f"… and {len(read.problems) - 50} more skipped rows", file=sys.stderr)
    if not read.sessions:
        print(f"error: no usable message in {', '.join(map(str, args.files))} ({read.rows} rows read, "
              f"{len(read.problems)} malformed); nothing was imported", file=sys.stderr)
        return EXIT_FAILURE
    try:
        embedder = create_embedder(config)
        searcher = Searcher(load_index(root, embedder.id, embedder.dim), QueryEncoder(embedder, 256), config)
    except (IndexLoadError, EmbedderError) as exc:
        print(f"error: {exc}; build the index first (python -m indexer build)", file=sys.stderr)
        return EXIT_FAILURE
    progress = Progress(enabled=not args.no_progress)
    tick = progress.stage("align", len(read.sessions), "sessions")
    settings = Settings(config.align_min_evidence, config.align_question_rank, config.align_unanswered_below)
    try:
        report = import_sessions(kb, read.sessions, searcher, settings, args.dry_run, args.before, tick)
    except (ValueError, OSError) as exc:
        progress.finish()
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    progress.finish()
    print(f"read {read.rows} messages in {len(read.sessions)} sessions ({read.skipped_media} images/stickers/empty "
          f"skipped, {len(read.problems)} malformed rows skipped)")
    print(report.summary())
    if report.path:
        print("next: review the new wordings (state: suggested/accepted/rejected), then python -m indexer build")
    return EXIT_OK


def _learn_feedback(kb: Path, config: cfg.Config, dry_run: bool) -> int:
    from learn.feedback import learn_from_feedback
    from storage import StorageError
    from storage.connect import open_database
    from storage.feedback import FeedbackStore

    if not kb.is_dir():
        print(f"error: no KB folder at {kb}", file=sys.stderr)
        return EXIT_FAILURE
    if not config.database_url and not Path(config.feedback_db).is_file():
        print(f"error: no feedback database at {config.feedback_db} (setting feedback_db; the server writes it)",
              file=sys.stderr)
        return EXIT_FAILURE
    try:
        db = open_database(config.database_url, config.feedback_db)
        try:
            report, path = learn_from_feedback(kb, FeedbackStore(db).rows(), config.learned_feedback_cap, dry_run)
        finally:
            db.close()
    except (StorageError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    print(report.summary())
    print(f"wrote {path}; next: review the wordings, then python -m indexer build" if path
          else "dry run: nothing written")
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
