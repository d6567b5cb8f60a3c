"""What the query log costs a request, in-process: ``python -m bench.querylog [--rounds 20]``.

The request's share is building the entry and putting it on the queue (``entry_of`` + ``record``);
masking and the SQLite insert run on the writer thread. The shipped questions are answered once
(hash embedder: the answers' shape is what matters here), then their entries are recorded
``--rounds`` times over; the figure is the time per record, and the writer's rows per second.
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from assist import Assistant
from core import config as cfg
from core.masking import mask
from indexer.build import build
from indexer.embed import HashEmbedder
from indexer.store import load_index
from retrieval import Query, QueryEncoder, Searcher
from storage.querylog import QueryLog, entry_of


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", default="kb")
    parser.add_argument("--questions", default="eval/questions/shipped.jsonl")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args(argv)
    texts = [json.loads(line)["q"] for line in Path(args.questions).read_text("utf-8").splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        config = cfg.load({"embedder": "hash"}, environ={})
        embedder = HashEmbedder()
        build(Path(args.kb), Path(tmp) / "index", embedder, config)
        index = load_index(Path(tmp) / "index", embedder.id, embedder.dim)
        assistant = Assistant(Searcher(index, QueryEncoder(embedder, 4096), config), config)
        answers = [(q, assistant.answer(Query(q, top_k=5))) for q in texts]
        log = QueryLog(Path(tmp) / "querylog.sqlite3", queue_size=len(answers) * args.rounds + 1)
        per_round = []
        started_all = time.perf_counter()
        for _ in range(args.rounds):
            started = time.perf_counter()
            for question, answer in answers:
                log.record(entry_of(answer, question, "suggest"))
            per_round.append((time.perf_counter() - started) / len(answers) * 1e6)
        log.flush(120)
        total = time.perf_counter() - started_all
        log.close()
        masked = [time.perf_counter()]
        for q in texts:
            mask(q)
        masked.append(time.perf_counter())
    rows = len(answers) * args.rounds
    print(f"record (entry_of + queue put), per request: median {statistics.median(per_round):.1f} µs, "
          f"max round {max(per_round):.1f} µs  ({rows} records, {args.rounds} rounds)")
    print(f"writer (mask + batched insert): {rows / total:,.0f} rows/s; dropped {log.dropped}")
    print(f"masking alone: {(masked[1] - masked[0]) / len(texts) * 1e6:.1f} µs per shipped question")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
