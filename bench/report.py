"""Weekly-report benchmark: time and peak memory of ``python -m report`` on a replayed week.

    python -m bench.report [--index index] [--log-dir DIR] [--days 7] [--per-day 750] [--runs 3] [--unique]

1. The week: unless --log-dir already holds one, start the real server (default embedder, query log off)
   and replay ``days × per-day`` questions with their feedback into --log-dir (``python -m report.replay``).
2. ``--runs`` cold runs, each a fresh ``python -m report`` process with an empty question-vector cache
   (everything embedded), then as many warm runs sharing one cache (next week's report, or the admin page
   asking again). Whole-process wall time and peak RSS (``wait4``), min and median.
3. ``--unique``: the same week with every question made distinct (a serial number appended), the worst
   case for embedding: nothing repeats, so every question is embedded.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

from report import replay
from report.sources import open_sources
from storage import querylog as querylog_table
from server.launcher import ServerProcess

END = "2026-11-23"  # the day after the replayed week: fixed, so that two runs of the benchmark compare


def replay_week(index: Path, log_dir: Path, days: int, per_day: int) -> None:
    log_dir.mkdir(parents=True, exist_ok=True)
    dbs = ["--query-log-db", str(log_dir / "querylog.sqlite3"), "--feedback-db", str(log_dir / "feedback.sqlite3")]
    with ServerProcess(index, ["--query-log", "off", "--rate-limit-kib-per-s", "0", "--reload-interval", "0", *dbs],
                       ready_timeout=180) as server:
        code = replay.main(["--server", server.url, "--days", str(days), "--per-day", str(per_day), "--end", END,
                            "--index", str(index), "--no-report", *dbs])
    if code:
        raise SystemExit(f"the replay failed ({code})")


def uniquify(log_dir: Path) -> Path:
    """A copy of the week's query log in which no two questions are the same (feedback: the same file)."""
    target = log_dir / "unique"
    if (target / "querylog.sqlite3").exists():
        return target
    source = open_sources(_config(log_dir))
    copy = open_sources(_config(target), writable=True)
    for n, row in enumerate(source.query_log.rows()):
        values = dict(zip(querylog_table.COLUMNS, row))
        copy.query_log.record(querylog_table.Entry(
            dt.datetime.fromisoformat(values["at"]).timestamp(), values["endpoint"], f"{values['question']} 第{n}问",
            tuple(json.loads(values["top_ids"])), tuple(json.loads(values["top_scores"])), bool(values["confident"]),
            values["confidence"], values["index_version"], values["latency_ms"], values["intent"], values["urgency"],
            values["emotion"], values["handoff"], values["handoff_reason"]))
    copy.query_log.flush(timeout=120)
    copy.close()
    source.close()
    return target


def _config(log_dir: Path):
    from core import config as cfg

    return cfg.load({"query_log_db": str(log_dir / "querylog.sqlite3"), "feedback_db": str(log_dir / "feedback.sqlite3")})


def report_process(args: list[str]) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MiB, stdout) of one ``python -m report`` process."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "report", *args], stdout=subprocess.PIPE, text=True)
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"python -m report failed ({process.returncode}):\n{out}")
    return wall, usage.ru_maxrss / 1024, out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__.splitlines()[0])
    p.add_argument("--index", default="index", help="published index (default: index)")
    p.add_argument("--log-dir", default="artifacts/bench-report", help="the replayed week (made if empty)")
    p.add_argument("--days", type=int, default=7)
    p.add_argument("--per-day", type=int, default=750)
    p.add_argument("--runs", type=int, default=3, help="cold runs, then as many warm ones")
    p.add_argument("--unique", action="store_true", help="every question made distinct (the worst case)")
    args = p.parse_args(argv)
    log_dir = Path(args.log_dir)
    if not (log_dir / "querylog.sqlite3").exists():
        print(f"replaying {args.days} × {args.per_day} questions into {log_dir} …", flush=True)
        replay_week(Path(args.index), log_dir, args.days, args.per_day)
    feedback = log_dir / "feedback.sqlite3"
    if args.unique:
        log_dir = uniquify(log_dir)
    since = (dt.date.fromisoformat(END) - dt.timedelta(days=args.days)).isoformat()
    with tempfile.TemporaryDirectory() as tmp:
        common = ["--since", since, "--until", END, "--index", args.index, "--out", str(Path(tmp) / "out"),
                  "--query-log-db", str(log_dir / "querylog.sqlite3"), "--feedback-db", str(feedback)]
        rows = []
        for n in range(args.runs):
            rows.append(("cold", *report_process([*common, "--cache", str(Path(tmp) / f"cold-{n}")])))
        for _ in range(args.runs):
            rows.append(("warm", *report_process([*common, "--cache", str(Path(tmp) / "cold-0")])))
    print(f"{'run':<6}{'wall s':>8}{'peak MiB':>10}  report")
    for kind, wall, peak, out in rows:
        summary = re.sub(r"^report [^:]+: ", "", out.splitlines()[0])
        print(f"{kind:<6}{wall:>8.1f}{peak:>10.0f}  {summary}")
    for kind in ("cold", "warm"):
        walls = [w for k, w, _, _ in rows if k == kind]
        peaks = [m for k, _, m, _ in rows if k == kind]
        print(f"{kind}: wall min {min(walls):.1f} s, median {median(walls):.1f} s; "
              f"peak RSS max {max(peaks):.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
