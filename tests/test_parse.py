import datetime as dt
import json

from indexer.parse import parse_kb
from tests.helpers import FIXTURES, TODAY


def diagnostics_by_file(parsed):
    found = {}
    for d in parsed.diagnostics:
        found.setdefault(d.path, []).append(d)
    return found


def test_fixture_kb_parses_with_fields_and_defaults():
    parsed = parse_kb(FIXTURES / "kb", today=TODAY)
    assert not parsed.errors
    articles = {a.id: a for a in parsed.articles}
    assert len(articles) == 6
    seven = articles["seven-day-return"]
    assert seven.category == "退换货"  # from the folder
    assert seven.questions == ("不想要了能退吗", "七天内可以退货吗")
    assert [s.heading_path for s in seven.sections] == [("适用条件",), ("运费",)]
    assert seven.reply_template == "亲，签收7天内未使用可以无理由退货哦～"
    assert seven.sections[0].line == 9
    assert articles["cream-shelf-life"].products == ("玫瑰面霜", "RS-100", "面霜")
    assert articles["old-promo"].valid_until == dt.date(2020, 8, 31)
    assert articles["old-promo"].validity(TODAY) == "expired"


def test_id_defaults_to_path(tmp_path):
    (tmp_path / "faq").mkdir()
    (tmp_path / "faq" / "ship-time.md").write_text("---\ntitle: 发货\n---\n## A\n两天内发货。\n", encoding="utf-8")
    (article,) = parse_kb(tmp_path).articles
    assert article.id == "faq/ship-time"
    assert article.category == "faq"


def test_each_broken_article_is_reported_with_file_and_line():
    parsed = parse_kb(FIXTURES / "kb_broken", today=TODAY)
    found = diagnostics_by_file(parsed)
    messages = {path: [(d.line, d.severity, d.message) for d in ds] for path, ds in found.items()}
    assert messages["bad-yaml.md"][0][1:3][0] == "error" and "broken YAML" in messages["bad-yaml.md"][0][2]
    assert ("error", "missing title") in [(s, m) for _, s, m in messages["no-title.md"]]
    assert (2, "error", "duplicate id 'same-id' (also in dup-b.md)") in messages["dup-a.md"]  # the id: line
    assert (2, "error", "duplicate id 'same-id' (also in dup-a.md)") in messages["dup-b.md"]
    assert messages["bad-date.md"] == [(4, "error", "invalid date in valid_until: '2026-13-45' (use YYYY-MM-DD)")]
    assert messages["empty-body.md"][0][1:] == ("error", "empty body: the article has no text besides its front matter")
    assert messages["not-utf8.md"] == [(6, "error", "file is not valid UTF-8")]
    warnings = [(line, m.split(" (")[0]) for line, s, m in messages["warnings.md"] if s == "warning"]
    assert warnings == [(4, "unknown field 'colour'"), (5, "article expired on 2020-01-01; it is no longer suggested")]
    # only the article with warnings alone survives
    assert [a.id for a in parsed.articles] == ["warnings-only"]
    assert str(found["bad-date.md"][0]).startswith("bad-date.md:4: error: ")


def test_same_phrasing_under_two_articles_warns(tmp_path):
    for name in ("a", "b"):
        (tmp_path / f"{name}.md").write_text(
            f"---\nid: {name}\ntitle: {name}\nquestions: [怎么退货？, 其他{name}]\n---\n## A\n正文。\n", encoding="utf-8")
    parsed = parse_kb(tmp_path)
    (warning,) = parsed.diagnostics
    assert warning.path == "b.md" and "怎么退货" in warning.message and "'a'" in warning.message


def test_headings_inside_code_fences_are_not_sections(tmp_path):
    (tmp_path / "a.md").write_text("---\nid: a\ntitle: T\n---\n## One\n```\n## not a heading\n```\n## Two\nx\n",
                                   encoding="utf-8")
    (article,) = parse_kb(tmp_path).articles
    assert [s.heading_path for s in article.sections] == [("One",), ("Two",)]


def test_jsonl_kb(tmp_path):
    path = tmp_path / "kb.jsonl"
    path.write_text("\n".join(json.dumps({"id": f"q{i}", "title": t, "text": t}, ensure_ascii=False)
                              for i, t in enumerate(["花呗怎么还款", "借呗额度"])) + "\n", encoding="utf-8")
    parsed = parse_kb(path)
    assert [a.id for a in parsed.articles] == ["q0", "q1"]
    assert parsed.articles[0].sections[0].text == "花呗怎么还款"


def test_shared_phrasing_is_reported_at_its_own_line(tmp_path):
    first = "---\nid: a\ntitle: 退货\nquestions:\n  - 怎么退货\n  - 能退吗\n---\n## A\n七天无理由。\n"
    second = "---\nid: b\ntitle: 退款\nquestions:\n  - 退款多久\n  - 能退吗？\n---\n## A\n三天到账。\n"
    (tmp_path / "a.md").write_text(first, encoding="utf-8")
    (tmp_path / "b.md").write_text(second, encoding="utf-8")
    (warning,) = parse_kb(tmp_path).diagnostics
    assert (warning.path, warning.line, warning.severity) == ("b.md", 6, "warning")
    assert "also listed under 'a'" in warning.message


def test_jsonl_duplicate_id_points_at_its_line(tmp_path):
    path = tmp_path / "kb.jsonl"
    rows = [{"id": "q1", "title": "花呗", "text": "花呗"}, {"id": "q2", "title": "借呗", "text": "借呗"},
            {"id": "q1", "title": "余额宝", "text": "余额宝"}]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    parsed = parse_kb(path)
    assert [str(d) for d in parsed.errors] == [
        "kb.jsonl:1: error: duplicate id 'q1' (also in kb.jsonl:3)",
        "kb.jsonl:3: error: duplicate id 'q1' (also in kb.jsonl:1)"]
    assert [a.id for a in parsed.articles] == ["q2"]
