"""Comparing two eval runs: per-question changes on hand-made rows, and --against end to end."""
import json

from eval.cli import main
from eval.diff import compare, diff
from tests.helpers import FIXTURES


def row(q, rank, confident=True, answerable=True):
    return {"q": q, "answerable": answerable, "rank": rank, "confident": confident}


def test_a_question_that_moved_is_a_change_weighed_by_reciprocal_rank():
    assert compare(row("a", 1), row("a", 1)) is None
    dropped = compare(row("a", 1), row("a", 4))
    assert (dropped.before, dropped.after, dropped.worse, dropped.severity) == ("#1", "#4", True, 0.75)
    lost = compare(row("a", 2), row("a", None))
    assert (lost.after, lost.worse, lost.severity) == ("not in top 10", True, 0.5)
    found = compare(row("a", None, confident=False), row("a", 2))
    assert (found.before, found.worse, found.severity) == ("not in top 10, abstains", False, 1.0)
    assert compare(row("a", 1), row("a", 1, confident=False)).worse  # same rank, lost confidence
    slipped = compare(row("x", None, False, answerable=False), row("x", None, True, answerable=False))
    assert (slipped.before, slipped.after, slipped.worse, slipped.severity) == ("abstains", "confident", True, 1.0)


def test_diff_gives_metric_deltas_and_sorted_changes():
    def run(rows, r1):
        overall = {"recall@1": r1, "recall@3": 1.0, "recall@5": 1.0, "mrr@10": 0.5, "ndcg@10": 0.5}
        return {"index_version": "v", "configs": {"hybrid": {
            "overall": overall, "abstention": {"abstain_recall": 1.0, "false_abstain_rate": 0.0},
            "per_question": rows}}}
    old = run([row("a", 1), row("b", 3), row("c", 2), row("gone", 1)], 0.25)
    new = run([row("a", 2), row("b", 1), row("c", 2), row("new", 1)], 0.5)
    result = diff(old, new)["configs"]["hybrid"]
    assert result["deltas"]["recall@1"] == 0.25 and result["deltas"]["mrr@10"] == 0.0
    assert [c["q"] for c in result["worse"]] == ["a"] and [c["q"] for c in result["better"]] == ["b"]
    assert (result["only_before"], result["only_now"]) == (1, 1)


def test_cli_against_an_earlier_report(tmp_path, capsys):
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"q": "退款多久到账", "relevant": ["refund-time"]}, ensure_ascii=False) + "\n",
                         encoding="utf-8")
    common = ["--kb", str(FIXTURES / "kb"), "--questions", str(questions), "--index", str(tmp_path / "idx"),
              "--embedder", "hash", "--as-of", "2026-11-22"]
    assert main(common + ["--out", str(tmp_path / "before")]) == 0
    earlier = tmp_path / "before" / "report.json"
    report = json.loads(earlier.read_text("utf-8"))
    report["configs"]["hybrid"]["per_question"][0]["rank"] = 3  # pretend it used to rank lower
    report["configs"]["hybrid"]["overall"]["recall@1"] = 0.0
    earlier.write_text(json.dumps(report), encoding="utf-8")
    capsys.readouterr()
    assert main(common + ["--against", str(earlier)]) == 0
    text = capsys.readouterr().out
    assert "## Changes against" in text and "| hybrid | +1.000 |" in text
    assert "`退款多久到账`: #3, abstains → #1, abstains" in text  # the fake embedder is never confident
    assert main(common + ["--against", str(tmp_path / "missing.json")]) == 2
    assert "cannot compare" in capsys.readouterr().err
