"""``python -m report``: the files it writes, and one-line errors with exit 2 for bad input."""
import pytest

from report.__main__ import main
from tests.test_report import plant


@pytest.fixture
def args(built, tmp_path, config):
    plant(config)
    return ["--index", str(tmp_path / "index"), "--embedder", "hash", "--query-log-db", config.query_log_db,
            "--feedback-db", config.feedback_db, "--as-of", "2026-11-22"]


def test_writes_html_markdown_and_csvs(args, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["--since", "2026-11-16", "--out", str(out), *args]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"report.html", "report.md", "top_clusters.csv", "kb_gaps.csv", "per_day.csv"} <= names
    printed = capsys.readouterr().out
    assert "report 2026-11-16 – 2026-11-22: 7 questions, 5 feedback events" in printed
    html = (out / "report.html").read_text("utf-8")
    assert html.startswith("<!DOCTYPE html>") and "<style>" in html and "<script" not in html
    assert "index " in html and "shipping-time" in html  # the fixture KB's articles, from the index


def test_a_second_run_embeds_nothing_again(args, tmp_path, capsys):
    for _ in range(2):
        assert main(["--since", "2026-11-16", "--out", str(tmp_path / "out"), *args]) == 0
    first, second = [line for line in capsys.readouterr().out.splitlines() if line.startswith("report ")]
    assert "3 distinct questions (3 embedded" in first and "(0 embedded, the rest cached)" in second


def test_kb_instead_of_the_index(args, kb_copy, tmp_path):
    out = tmp_path / "out"
    assert main(["--since", "2026-11-16", "--out", str(out), "--kb", str(kb_copy), *args]) == 0
    assert f"Articles: kb {kb_copy}" in (out / "report.html").read_text("utf-8")


@pytest.mark.parametrize("dates, message", [
    (["--since", "2026-11-31"], "since: '2026-11-31' is not a date (YYYY-MM-DD)"),
    (["--since", "yesterday"], "is not a date"),
    (["--since", "2026-11-16", "--until", "2026-11-16"], "until (2026-11-16) must come after since (2026-11-16)"),
    (["--since", "2026-11-16", "--until", "2026-11-10"], "must come after"),
    (["--since", "2026-11-16", "--as-of", "11/22"], "as-of"),
])
def test_bad_dates_exit_2_with_one_line(args, tmp_path, capsys, dates, message):
    assert main(["--out", str(tmp_path / "out"), *args, *dates]) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("error: ") and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_missing_index_or_kb_exits_2(args, tmp_path, capsys):
    assert main(["--since", "2026-11-16", "--out", str(tmp_path / "out"), *args, "--index", str(tmp_path / "nope")]) == 2
    assert "no published index" in capsys.readouterr().err
    assert main(["--since", "2026-11-16", "--out", str(tmp_path / "out"), *args, "--kb", str(tmp_path / "nokb")]) == 2
    assert "KB not found" in capsys.readouterr().err


def test_an_unwritable_out_exits_2(args, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["--since", "2026-11-16", "--out", str(blocker / "sub"), *args]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_missing_required_options_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--since", "2026-11-16"])
    assert exc.value.code == 2 and "--out" in capsys.readouterr().err
