"""Eval history: appended lines, a torn line skipped, the trend table, and --history through the CLI."""
import datetime as dt
import json

from eval import history
from eval.cli import main
from tests.helpers import FIXTURES


def result(r3, questions_file="q.jsonl"):
    overall = {"recall@1": 0.5, "recall@3": r3, "recall@5": 1.0, "mrr@10": 0.6, "ndcg@10": 0.7}
    return {"questions_file": questions_file, "kb": "kb", "index_version": "v1", "embedder": "hash",
            "confidence_threshold": 0.9, "configs": {"hybrid": {
                "overall": overall, "abstention": {"abstain_recall": 0.8, "false_abstain_rate": 0.05}}}}


def test_runs_are_appended_and_a_torn_line_is_skipped(tmp_path):
    path = tmp_path / "h" / "history.jsonl"
    history.append(path, result(0.75), now=dt.datetime(2026, 11, 1, 9, 0))
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"run_at": "2026-11-0')  # a run killed mid-write
    history.append(path, result(0.9), now=dt.datetime(2026, 11, 8, 9, 0))
    history.append(path, result(0.1, questions_file="other.jsonl"), now=dt.datetime(2026, 11, 9, 9, 0))
    rows = history.read(path)
    assert [r["configs"]["hybrid"]["recall@3"] for r in rows] == [0.75, 0.9, 0.1]
    table = history.trend_markdown(rows, "q.jsonl")
    assert "(last 2 of 2 runs)" in table
    lines = [line for line in table.splitlines() if line.startswith("| 2026")]
    assert [line.split(" | ")[4] for line in lines] == ["0.750", "0.900"]  # oldest first, other set left out
    assert history.read(tmp_path / "missing.jsonl") == []


def test_cli_history_appends_and_prints_the_trend(tmp_path, capsys):
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"q": "退款多久到账", "relevant": ["refund-time"]}, ensure_ascii=False) + "\n",
                         encoding="utf-8")
    args = ["--kb", str(FIXTURES / "kb"), "--questions", str(questions), "--index", str(tmp_path / "idx"),
            "--embedder", "hash", "--as-of", "2026-11-22", "--history", str(tmp_path / "history.jsonl")]
    assert main(args) == 0 and main(args) == 0
    assert "(last 2 of 2 runs)" in capsys.readouterr().out
    (row, _) = history.read(tmp_path / "history.jsonl")
    assert row["embedder"] == "hash/char-ngrams@256" and row["configs"]["hybrid"]["recall@1"] == 1.0
