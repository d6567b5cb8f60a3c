"""What /metrics costs a request: ``python -m bench.metrics [--requests 20000] [--rounds 7]``.

Times the work the metrics hooks add to every request (a counter by endpoint and status, a latency observation, an
answer counted by its unconfident_reason) on the same prometheus-client objects the server uses; prints the
per-request min and median over the rounds.
"""
from __future__ import annotations

import argparse
import statistics
import time

from prometheus_client import CollectorRegistry, Counter, Histogram

from server.metrics import BUCKETS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.metrics", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000, help="requests per round (default 20000)")
    parser.add_argument("--rounds", type=int, default=7, help="rounds (default 7)")
    args = parser.parse_args(argv)
    registry = CollectorRegistry()
    requests = Counter("r", "r", ("endpoint", "status"), registry=registry)
    latency = Histogram("s", "s", ("endpoint",), buckets=BUCKETS, registry=registry)
    answers = Counter("a", "a", ("endpoint", "unconfident_reason"), registry=registry)
    per_request = []
    for _ in range(args.rounds):
        started = time.perf_counter()
        for _ in range(args.requests):
            began = time.perf_counter()
            requests.labels("/v1/suggest", "200").inc()
            latency.labels("/v1/suggest").observe(time.perf_counter() - began)
            answers.labels("suggest", "").inc()
        per_request.append((time.perf_counter() - started) / args.requests * 1000)
    print(f"/metrics hooks per request: min {min(per_request):.4f} ms, median {statistics.median(per_request):.4f} ms "
          f"({args.rounds} rounds of {args.requests})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
