"""The replay demo: a seeded, plausible week planned from the labelled sets, agents' reactions that follow
the answer's quality, and the whole thing against a real server process."""
import datetime as dt
import random
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from report.agents import react
from report.replay import main as replay_main
from report.traffic import TOPIC_SHARES, Seed, load_seeds, plan_week
from tests.helpers import ROOT

END = dt.datetime(2026, 11, 23, tzinfo=dt.timezone(dt.timedelta(hours=8)))


@pytest.fixture(scope="module")
def seeds():
    from indexer.parse import parse_kb

    categories = {a.id: a.category for a in parse_kb(ROOT / "kb").articles}
    return load_seeds(ROOT / "eval/questions/shipped.jsonl", ROOT / "eval/triage/messages.jsonl", categories)


def test_a_planned_week_is_seeded_sized_and_inside_the_week(seeds):
    week = plan_week(seeds, END, 7, 300, seed=5, utc_offset_hours=8)
    assert week == plan_week(seeds, END, 7, 300, seed=5, utc_offset_hours=8)
    assert week != plan_week(seeds, END, 7, 300, seed=6, utc_offset_hours=8)
    assert len(week) == 2100
    shop = END.tzinfo
    assert all(END - dt.timedelta(days=7) <= v.at < END for v in week)
    assert [v.at for v in week] == sorted(v.at for v in week)
    days = Counter(v.at.astimezone(shop).date() for v in week)
    assert len(days) == 7 and min(days.values()) > 200  # every day busy, none empty
    hours = Counter(v.at.astimezone(shop).hour for v in week)
    assert sum(hours[h] for h in range(9, 23)) / len(week) > 0.8  # service hours 9:00–22:00
    topics = Counter(v.seed.topic for v in week)
    assert abs(topics["物流"] / len(week) - TOPIC_SHARES["物流"]) < 0.05
    assert abs(topics["退换货"] / len(week) - TOPIC_SHARES["退换货"]) < 0.05
    asked = Counter(v.seed.text for v in week)
    assert asked.most_common(1)[0][1] > 5 * (len(week) / len(asked))  # a few questions far more often


def test_agents_react_to_the_answers_quality():
    rng = random.Random(1)
    right = Seed("发货没", "物流", ("dispatch-time",))
    out_of_scope = Seed("股票明天会涨吗", "闲聊/其他", ())
    right_actions = Counter(r.action for _ in range(2000) for r in react(right, ["dispatch-time"], True, rng))
    assert right_actions["copy"] > 1000 and right_actions["down"] == right_actions["gap"] == 0
    wrong_actions = Counter(r.action for _ in range(2000) for r in react(right, ["couriers"], True, rng))
    assert wrong_actions["copy"] == 0 and wrong_actions["down"] > 500 and wrong_actions["gap"] > 300
    lower = [r for _ in range(500) for r in react(right, ["couriers", "dispatch-time"], True, rng)]
    assert {r.article_id for r in lower if r.action == "copy"} == {"dispatch-time"}
    unsure = Counter(r.action for _ in range(2000) for r in react(out_of_scope, ["dispatch-time"], False, rng))
    assert set(unsure) == {"gap"}
    assert all(5 <= r.delay_s <= 90 for r in lower)


def _rows(path: Path, sql: str):
    with sqlite3.connect(path) as db:
        return db.execute(sql).fetchall()


def test_replay_against_a_running_server_then_report(built, tmp_path, server_process, kb_copy):
    log, feedback, out = tmp_path / "ql.sqlite3", tmp_path / "fb.sqlite3", tmp_path / "report"
    server = server_process(tmp_path / "index", "--embedder", "hash", "--reload-interval", "0", "--query-log", "off",
                            "--query-log-db", str(log), "--feedback-db", str(feedback), cwd=tmp_path)
    code = replay_main(["--server", server.url, "--days", "2", "--per-day", "30", "--end", "2026-11-23",
                        "--kb", str(kb_copy), "--questions", str(ROOT / "eval/questions/shipped.jsonl"),
                        "--triage", str(ROOT / "eval/triage/messages.jsonl"), "--index", str(tmp_path / "index"),
                        "--embedder", "hash", "--query-log-db", str(log), "--feedback-db", str(feedback),
                        "--out", str(out)])
    assert code == 0
    # the week's dates, not today's: 2026-11-21 and -22 in the shop's time zone
    assert _rows(log, "SELECT count(*), min(at) >= '2026-11-20T16', max(at) < '2026-11-22T16' FROM query_log") \
        == [(60, 1, 1)]
    assert _rows(log, "SELECT count(*) FROM query_log WHERE question LIKE '%订单号1%'") == [(0,)]  # masked:
    assert _rows(log, "SELECT count(*) > 0 FROM query_log WHERE question LIKE '%订单号[单号]%'") == [(1,)]
    assert _rows(feedback, "SELECT count(*) > 0, min(at) >= '2026-11-20T16' FROM feedback") == [(1, 1)]
    markdown = (out / "report.md").read_text("utf-8")
    assert "回答的问题 questions answered | 60 |" in markdown and "2026-11-21 – 2026-11-22" in markdown


def test_replay_refuses_a_server_that_logs_the_questions_itself(built, tmp_path, server_process, capsys):
    server = server_process(tmp_path / "index", "--embedder", "hash", "--reload-interval", "0",
                            "--query-log-db", str(tmp_path / "ql.sqlite3"), cwd=tmp_path)
    assert replay_main(["--server", server.url, "--kb", str(ROOT / "kb"), "--no-report",
                        "--questions", str(ROOT / "eval/questions/shipped.jsonl"),
                        "--triage", str(ROOT / "eval/triage/messages.jsonl")]) == 2
    assert "--query-log off" in capsys.readouterr().err
