import json

from indexer.cli import main
from tests.helpers import BUILT_IN_TEXTS, FIXTURES


def test_lint_prints_file_line_messages_and_fails_on_errors(capsys):
    assert main(["lint", "--kb", str(FIXTURES / "kb_broken")]) == 1
    err = capsys.readouterr().err
    assert "bad-date.md:4: error: invalid date in valid_until" in err
    assert "warnings.md:4: warning: unknown field 'colour'" in err


def test_lint_passes_with_only_warnings_unless_strict(capsys):
    assert main(["lint", "--kb", str(FIXTURES / "kb")]) == 0
    assert main(["lint", "--kb", str(FIXTURES / "kb"), "--strict"]) == 1


def test_build_summary_then_diff(kb_copy, tmp_path, capsys):
    out = tmp_path / "index"
    assert main(["build", "--kb", str(kb_copy), "--out", str(out), "--embedder", "hash", "--no-progress"]) == 0
    summary = capsys.readouterr().out
    assert f"6 articles, 8 chunks, 18 phrasings; embedded {26 + BUILT_IN_TEXTS}, reused 0" in summary

    (kb_copy / "物流" / "shipping-time.md").unlink()
    (kb_copy / "退换货" / "refund-time.md").write_text(
        "---\nid: refund-time\ntitle: 退款\n---\n## A\n改过了。\n", encoding="utf-8")
    (kb_copy / "new.md").write_text("---\nid: brand-new\ntitle: 新\n---\n## A\n新的。\n", encoding="utf-8")
    assert main(["diff", "--kb", str(kb_copy), "--out", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "added": ["brand-new"], "changed": ["refund-time"], "removed": ["shipping-time"]}


def test_build_refuses_broken_kb_with_exit_1(tmp_path, capsys):
    assert main(["build", "--kb", str(FIXTURES / "kb_broken"), "--out", str(tmp_path / "i"),
                 "--embedder", "hash"]) == 1
    assert "nothing was published" in capsys.readouterr().err
    assert not (tmp_path / "i").exists()


def test_missing_kb_is_a_clear_error(tmp_path, capsys):
    assert main(["lint", "--kb", str(tmp_path / "nope")]) == 2
    assert "KB not found" in capsys.readouterr().err
