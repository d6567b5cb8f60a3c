"""The editors' lint (issue 13 §3): every planted problem in tests/fixtures/kb_lint is found at its
file and line, the lines meant to be fine stay silent, and the shipped KB raises no false alarm."""
import datetime as dt
import os
import shutil
import subprocess

import pytest

from core import config as cfg
from indexer.cli import main
from indexer.lint import run_checks
from indexer.lint.compliance import _hits, load_rules
from indexer.parse import parse_kb
from tests.helpers import FIXTURES, ROOT, TODAY

KB_LINT = FIXTURES / "kb_lint"
CONFIG = cfg.load({}, environ={})

EXPECTED = {
    # (file, line, severity, start of the message)
    ("售后服务/contact.md", 7, "error", "off-platform contact (站外引流): '微信'"),
    ("售后服务/contact.md", 9, "error", "off-platform contact (站外引流): '138 1234 5678'"),
    ("售后服务/contact.md", 11, "error", "off-platform contact (站外引流): 'https://shop.example.com/help'"),
    ("售后服务/contact.md", 13, "error", "off-platform contact (站外引流): 'QQ'、'VX'"),
    ("商品规格/ad-claims.md", 8, "error", "absolute advertising claim (广告法 极限词): '全网'、'最'、'第一'"),
    ("商品规格/ad-claims.md", 10, "error", "absolute advertising claim (广告法 极限词): '国家级'、'100%'"),
    ("保质期/cream-shelf-life.md", 8, "warning", "contradiction: 玫瑰面霜 保质期 is 3 年 here but 2 年 in 商品规格/cream-specs.md:10"),
    ("商品规格/cream-specs.md", 10, "warning", "contradiction: 玫瑰面霜 保质期 is 2 年 here but 3 年 in 保质期/cream-shelf-life.md:8"),
    ("退换货/return-a.md", 7, "warning", "contradiction: 无理由退货期限 is 7 天 here but 15 天 in 退换货/return-b.md:7"),
    ("退换货/return-b.md", 7, "warning", "contradiction: 无理由退货期限 is 15 天 here but 7 天 in 退换货/return-a.md:7"),
    ("物流/dispatch-a.md", 7, "warning", "contradiction: 发货时间 is 48 小时 here but 24 小时 in 物流/dispatch-b.md:7"),
    ("物流/dispatch-b.md", 7, "warning", "contradiction: 发货时间 is 24 小时 here but 48 小时 in 物流/dispatch-a.md:7"),
    ("活动优惠/promo.md", 4, "warning", "expires on 2026-12-01 (in 9 day(s))"),
    ("其他/no-questions.md", 1, "warning", "no 'questions:' phrasings"),
    ("其他/one-question.md", 4, "warning", "only 1 'questions:' phrasing(s); at least 2 wanted"),
}


def lint(kb, config=CONFIG, today=TODAY):
    parsed = parse_kb(kb, today=today)
    assert not parsed.errors
    return run_checks(kb, parsed.articles, config, today=today)


def test_every_planted_problem_is_found_at_its_line_and_nothing_else():
    found = lint(KB_LINT)
    got = {(d.path, d.line, d.severity) for d in found}
    assert got == {e[:3] for e in EXPECTED}, "a missed problem or a false alarm"
    for path, line, severity, start in EXPECTED:
        (match,) = [d for d in found if (d.path, d.line) == (path, line)]
        assert match.message.startswith(start), match.message


def test_the_shipped_kb_raises_no_false_alarm():
    found = lint(ROOT / "kb")
    # the one true finding: the Double 11 articles end on 2026-11-30, eight days after the eval's today
    assert [(d.path, d.severity, d.message.split(" (")[0]) for d in found] == [
        ("活动优惠/double11-promotion.md", "warning", "expires on 2026-11-30"),
        ("物流/double11-shipping.md", "warning", "expires on 2026-11-30")]


@pytest.mark.parametrize("line, rule, hits", [
    ("加我wx领红包", 0, ["wx"]),
    ("请加 WeChat 好友", 0, ["WeChat"]),
    ("型号 WXYZ-2 和 qqq", 0, []),  # ASCII words count only whole
    ("电话 13812345678", 0, ["13812345678"]),
    ("电话 0571-88886666", 0, ["0571-88886666"]),
    ("订单号 3812345678901234567", 0, []),  # a long order number is no phone number
    ("去 www.taobao.com 看看", 0, ["www.taobao.com"]),
    ("搜 shop123.top 下单", 0, ["shop123.top"]),
    ("在 douyin.com 查看", 0, []),
    ("支持微信支付、支付宝", 0, []),
    ("最快48小时发货，最晚次日", 1, []),
    ("补偿最高 500 元，最多 25 元", 1, []),
    ("当地最高气温超过35℃", 1, []),
    ("最大输出功率 65W，最大容量 20000mAh", 1, []),  # a rated spec, not a claim
    ("最大的优惠", 1, ["最"]),
    ("最高品质，效果最好", 1, ["最", "最"]),
    ("第一时间通知，第一次使用先试用", 1, []),
    ("行业第一品牌，绝对正品", 1, ["第一", "绝对"]),
])
def test_compliance_hits_and_exceptions(line, rule, hits):
    rules, problems = load_rules(KB_LINT)
    assert not problems
    assert _hits(line, rules[rule]) == hits


def test_editors_extend_the_word_list_in_the_kb(tmp_path):
    kb = tmp_path / "kb"
    shutil.copytree(KB_LINT, kb)
    (kb / "_lint").mkdir()
    (kb / "_lint" / "compliance.yaml").write_text(
        "rules:\n  - name: banned by our brand\n    severity: warning\n    why: 品牌要求\n"
        "    words: [假一赔十, 工作日]\n    allowed: [工作日可打]\n", encoding="utf-8")
    found = [d for d in lint(kb) if "banned by our brand" in d.message]
    assert found == [], "工作日 appears only inside the allowed 工作日可打; the default list is replaced"
    (kb / "其他" / "one-question.md").write_text(
        "---\nid: one-question\ntitle: 发票\nquestions: [能开发票吗, 怎么开票]\n---\n## 发票\n假一赔十，3 个工作日开票。\n",
        encoding="utf-8")
    found = [d for d in lint(kb) if "banned by our brand" in d.message]
    assert [(d.path, d.line, d.severity) for d in found] == [("其他/one-question.md", 7, "warning")]
    assert "'假一赔十'、'工作日' — 品牌要求" in found[0].message
    assert not [d for d in lint(kb) if "站外引流" in d.message], "the KB's list replaces the default"


def test_a_broken_word_list_is_reported_and_the_default_used(tmp_path):
    kb = tmp_path / "kb"
    shutil.copytree(KB_LINT, kb)
    (kb / "_lint").mkdir()
    (kb / "_lint" / "compliance.yaml").write_text("rules:\n  - name: x\n    patterns: ['(unclosed']\n", "utf-8")
    found = lint(kb)
    broken = [d for d in found if d.path == "_lint/compliance.yaml"]
    assert len(broken) == 1 and broken[0].severity == "error" and "default list was used" in broken[0].message
    assert any("站外引流" in d.message for d in found)


def test_shelf_life_in_other_units_is_the_same_fact(tmp_path):
    for name, text in (("a", "每日坚果保质期 180 天。"), ("b", "每日坚果保质期 6 个月，开封后 7 天内吃完。"),
                       ("c", "牛轧糖保质期 9 个月。")):
        (tmp_path / f"{name}.md").write_text(
            f"---\nid: {name}\ntitle: {name}\nproducts: [{'手工牛轧糖, 牛轧糖' if name == 'c' else '每日坚果, 坚果'}]\n"
            f"questions: [问{name}一, 问{name}二]\n---\n## A\n{text}\n", encoding="utf-8")
    assert [d for d in lint(tmp_path) if "contradiction" in d.message] == []


def test_not_edited_for_long_by_file_time_outside_git(tmp_path):
    kb = tmp_path / "kb"
    shutil.copytree(KB_LINT, kb)
    old = dt.datetime(2025, 6, 1).timestamp()
    os.utime(kb / "物流" / "dispatch-b.md", (old, old))
    stale = [d for d in lint(kb) if "not edited since" in d.message]
    assert [(d.path, d.line, d.severity) for d in stale] == [("物流/dispatch-b.md", 1, "warning")]
    assert "2025-06-01 (539 days; setting stale_after_days=365)" in stale[0].message
    assert not [d for d in lint(kb, CONFIG.replace(stale_after_days=0)) if "not edited" in d.message]


def test_not_edited_for_long_by_git_commit_date(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    kb = repo / "kb"
    shutil.copytree(KB_LINT, kb)
    env = {**os.environ, "GIT_AUTHOR_DATE": "2025-01-02T12:00:00", "GIT_COMMITTER_DATE": "2025-01-02T12:00:00",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com"}

    def git(*args):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)

    git("init", "-q")
    git("add", "-A")
    git("commit", "-q", "-m", "old")
    # files touched today on disk, but git says when they were last edited
    for path in kb.rglob("*.md"):
        os.utime(path, None)
    (kb / "物流" / "dispatch-a.md").write_text(
        (kb / "物流" / "dispatch-a.md").read_text("utf-8") + "\n", encoding="utf-8")  # an uncommitted edit: today
    stale = sorted(d.path for d in lint(kb) if "not edited since 2025-01-02" in d.message)
    expected = sorted(p.relative_to(kb).as_posix() for p in kb.rglob("*.md")
                      if p.name not in ("README.md", "dispatch-a.md"))
    assert stale == expected, "every committed article but the one edited since (fresh file times do not count)"


def test_lint_command_prints_file_line_severity_and_fails_on_compliance_errors(capsys):
    assert main(["lint", "--kb", str(KB_LINT)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert "售后服务/contact.md:7: error: off-platform contact (站外引流): '微信' — " in "\n".join(err)
    assert any(line.startswith("其他/no-questions.md:1: warning: no 'questions:'") for line in err)


def test_lint_settings_are_flags(capsys):
    assert main(["lint", "--kb", str(KB_LINT), "--min-questions", "3"]) == 1
    err = capsys.readouterr().err
    assert "only 2 'questions:' phrasing(s); at least 3 wanted" in err
