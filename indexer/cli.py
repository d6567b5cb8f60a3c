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

    args = parser.parse_args(argv)
    try:
        own = {"build": BUILD_SETTINGS, "lint": LINT_SETTINGS}.get(args.command, ())
        config = cfg.load(cfg.overrides_from(args, own))
    except cfg.ConfigError as exc:
        parser.error(str(exc))
    kb = Path(args.kb or config.kb_dir)
    try:
        if args.command == "lint":
            return _lint(kb, args.strict, config)
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
