"""``python -m report.replay``: a week of plausible traffic against a running server, then its report.

How a week gets its dates: the server stamps what it logs with the current time, and an append-only
log cannot be re-dated. So the replay asks the running server for every answer (real retrieval,
confidence, triage and latency, through ``/v1/suggest/batch``) and writes the query-log rows and the
agents' feedback itself, through the storage API, with the planned time of each message. The server
must therefore not log the replayed questions too (they would land on today): start it with
``--query-log off``; it still reads the log for ``/v1/report``. Questions come from the labelled sets
(``report/traffic.py``), feedback from what an agent would plausibly do with each answer
(``report/agents.py``), all from one seeded RNG.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from core import config as cfg
from storage.feedback import FeedbackEvent
from storage.querylog import Entry

from .agents import react
from .period import Period, PeriodError, date_or_today, shop_zone
from .sources import open_sources
from .traffic import Visit, load_seeds, plan_week

SETTINGS = ("feedback_db", "query_log_db", "report_utc_offset_hours", "embedder", "max_batch", "max_batch_chars",
            "report_cluster_similarity")


class ReplayError(RuntimeError):
    """The server cannot be used for the replay (exit 2)."""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m report.replay", description=(
        "Replay a week of customer questions (from the labelled sets) and agents' feedback against a running "
        "server started with --query-log off, writing the query log and the feedback with the planned times; "
        "then write that week's report."))
    p.add_argument("--server", required=True, help="base URL of the running server, e.g. http://127.0.0.1:8080")
    p.add_argument("--days", type=int, default=7, help="days to replay (default 7)")
    p.add_argument("--per-day", type=int, default=150, help="questions per day on average (default 150)")
    p.add_argument("--seed", type=int, default=13, help="RNG seed: the same seed replays the same week")
    p.add_argument("--end", help="the day after the replayed week (default: today, shop time)")
    p.add_argument("--questions", default="eval/questions/shipped.jsonl", help="labelled questions {q, relevant}")
    p.add_argument("--triage", default="eval/triage/messages.jsonl", help="triage-labelled messages {text, intent}")
    p.add_argument("--kb", default="kb", help="KB folder: its categories give the shipped questions their topic")
    p.add_argument("--out", default="artifacts/report-demo", help="folder for the week's report (default %(default)s)")
    p.add_argument("--index", help="index root for the report's articles (default: setting index_dir)")
    p.add_argument("--no-report", action="store_true", help="only replay")
    cfg.add_arguments(p, SETTINGS)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        config, end_day, visits = _plan(args)
        started = time.perf_counter()
        asked, events = replay(args.server.rstrip("/"), visits, config, random.Random(args.seed + 1))
    except (cfg.ConfigError, PeriodError, ReplayError, OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"replayed {asked} questions and {events} feedback events over {args.days} days "
          f"in {time.perf_counter() - started:.0f} s")
    period = Period(end_day - dt.timedelta(days=args.days), end_day, config.report_utc_offset_hours)
    print(f"the report: python -m report --since {period.since} --until {period.until} --out DIR, or "
          f"{args.server.rstrip('/')}/admin/ with the admin token")
    if args.no_report:
        return 0
    from .__main__ import SETTINGS as REPORT_SETTINGS, main as report_main

    forwarded = [arg for name in SETTINGS if name in REPORT_SETTINGS and getattr(args, name) is not None
                 for arg in ("--" + name.replace("_", "-"), str(getattr(args, name)))]
    return report_main(["--since", period.since.isoformat(), "--until", period.until.isoformat(), "--out", args.out,
                        *(["--index", args.index] if args.index else []), *forwarded])


def _plan(args: argparse.Namespace) -> tuple[cfg.Config, dt.date, list[Visit]]:
    """The settings, the day after the week, and the week's messages; checks the server is fit first."""
    config = cfg.load({**cfg.overrides_from(args, SETTINGS), "index_dir": args.index})
    end_day = date_or_today(args.end, "end", config.report_utc_offset_hours)
    if args.days < 1 or args.per_day < 1:
        raise PeriodError("--days and --per-day must be at least 1")
    from indexer.parse import parse_kb

    categories = {a.id: a.category for a in parse_kb(Path(args.kb)).articles}
    seeds = load_seeds(Path(args.questions), Path(args.triage), categories)
    _check_server(args.server.rstrip("/"))
    end = dt.datetime.combine(end_day, dt.time(), shop_zone(config.report_utc_offset_hours))
    return config, end_day, plan_week(seeds, end, args.days, args.per_day, args.seed, config.report_utc_offset_hours)


def _check_server(server: str) -> None:
    status, body = _call("GET", server + "/readyz")
    if status != 200:
        raise ReplayError(f"{server} is not ready ({status}): {body}")
    if body.get("query_log", {}).get("enabled"):
        raise ReplayError("the server logs every question itself, stamped today; restart it with --query-log off "
                          "(the replay writes the log with the week's times)")


def replay(server: str, visits: list[Visit], config: cfg.Config, rng: random.Random) -> tuple[int, int]:
    """Ask the server every planned question in batches, then log it and the agents' feedback at its time."""
    sources = open_sources(config, writable=True)
    events = 0
    try:
        for batch in _batches(visits, config.max_batch, config.max_batch_chars):
            body = _ask(server, [v.text for v in batch])
            for visit, result in zip(batch, body["results"]):
                top = [s["article_id"] for s in result["suggestions"]]
                triage = result.get("triage") or {}
                sources.query_log.record(Entry(
                    visit.at.timestamp(), "batch", visit.text, tuple(top),
                    tuple(s["score"] for s in result["suggestions"]), result["confident"], result["confidence"],
                    result["index_version"], result["took_ms"],
                    *((triage["intent"]["label"], triage["urgency"]["label"], triage["emotion"]["label"],
                       triage["handoff"]["needed"], triage["handoff"]["reason"]) if triage else ()),
                    request_id=result["request_id"]))
                for action in react(visit.seed, top, result["confident"], rng):  # tied to the answer, as a server's
                    sources.feedback.add(FeedbackEvent(visit.text, action.action, action.article_id,
                                                       result["index_version"], result["request_id"]),
                                         at=visit.at + dt.timedelta(seconds=action.delay_s))
                    events += 1
        if not sources.query_log.flush(timeout=60):
            raise ReplayError("the query log did not finish writing within 60 s")
    finally:
        sources.close()
    return len(visits), events


def _batches(visits: list[Visit], most: int, most_chars: int):
    batch, chars = [], 0
    for visit in visits:
        if batch and (len(batch) == most or chars + len(visit.text) > most_chars):
            yield batch
            batch, chars = [], 0
        batch.append(visit)
        chars += len(visit.text)
    if batch:
        yield batch


def _ask(server: str, questions: list[str]) -> dict:
    """POST one batch; waits out 429 (the per-client rate limit) as Retry-After says."""
    for _ in range(100):
        status, body = _call("POST", server + "/v1/suggest/batch", {"questions": questions, "top_k": 3})
        if status == 200:
            return body
        if status not in (429, 503):
            raise ReplayError(f"/v1/suggest/batch answered {status}: {body}")
        time.sleep(float(body.get("retry_after", 1)))
    raise ReplayError("the server kept refusing the replay (429/503)")


def _call(method: str, url: str, payload=None) -> tuple[int, dict]:
    data = json.dumps(payload, ensure_ascii=False).encode() if payload is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        retry = exc.headers.get("Retry-After")
        body = json.loads(exc.read() or b"{}")
        return exc.code, {**body, **({"retry_after": retry} if retry else {})}
    except (urllib.error.URLError, OSError) as exc:
        raise ReplayError(f"cannot reach {url}: {exc}") from None


if __name__ == "__main__":
    sys.exit(main())
