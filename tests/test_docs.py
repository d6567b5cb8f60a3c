"""The docs hold together: every relative link in README.md and docs/*.md points at a file that exists (and, for a
Markdown file, at a heading it has), prose stays readable in a terminal, and the layers the docs draw are the ones
tests/test_architecture.py enforces. A moved section must not leave a dead link behind."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.test_architecture import LAYERS

ROOT = Path(__file__).parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MAX_PROSE = 200  # characters; table rows and code blocks may be longer

LINK = re.compile(r"\]\(([^)\s]+)\)")  # [text](target)
SRC = re.compile(r"<img\b[^>]*\bsrc=\"([^\"]+)\"")  # <img src="...">
CODE_SPAN = re.compile(r"(`+)(?:(?!\n[ \t]*\n).)*?\1", re.S)  # may wrap onto the next line, not past a blank one


def prose_lines(text: str):
    """(line number, line) outside fenced code blocks."""
    fence = False
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            fence = not fence
        elif not fence:
            yield number, line


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped (letters of any script kept), spaces → '-'."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every anchor the page's headings make; a repeated heading gets -1, -2, … as on GitHub."""
    seen: dict[str, int] = {}
    out = set()
    for _, line in prose_lines(path.read_text(encoding="utf-8")):
        if m := re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line):
            base = slug(m.group(1))
            n = seen.get(base, 0)
            seen[base] = n + 1
            out.add(base if n == 0 else f"{base}-{n}")
    return out


def without_code(text: str) -> str:
    """The text with code blocks and code spans blanked (line numbers kept): a link written as code is no link."""
    lines = text.splitlines()
    kept = dict(prose_lines(text))
    text = "\n".join(kept.get(n, "") for n in range(1, len(lines) + 1))
    return CODE_SPAN.sub(lambda m: "\n" * m.group(0).count("\n"), text)


def broken_links(path: Path, root: Path = ROOT) -> list[str]:
    """'page:line: target (why)' for each relative link of a page that does not resolve."""
    wrong = []
    for number, line in enumerate(without_code(path.read_text(encoding="utf-8")).splitlines(), 1):
        for target in LINK.findall(line) + SRC.findall(line):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                continue
            file, _, fragment = target.partition("#")
            dest = (path.parent / file).resolve() if file else path
            where = f"{path.relative_to(root)}:{number}: {target}"
            if not dest.exists():
                wrong.append(f"{where} (no such file)")
            elif fragment and dest.suffix == ".md" and fragment not in anchors(dest):
                wrong.append(f"{where} (no such heading)")
    return wrong


def test_every_relative_link_resolves():
    wrong = [w for page in PAGES for w in broken_links(page)]
    assert not wrong, "\n".join(wrong)


def test_the_link_check_finds_a_dead_file_and_a_dead_anchor(tmp_path):
    (tmp_path / "other.md").write_text("# Other\n\n## Storage: SQLite or PostgreSQL\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text("# Page\n\n[ok](other.md#storage-sqlite-or-postgresql) [here](#page) [web](https://x.org/y)\n"
                    "[gone](missing.md) [anchor](other.md#storage) <img src=\"nope.png\">\n"
                    "```\n[in code](not-a-link.md)\n```\n`[in a span](nor-this.md)` and `a span\nwrapped [x](nor.md)`\n",
                    encoding="utf-8")
    assert broken_links(page, tmp_path) == ["page.md:4: missing.md (no such file)",
                                            "page.md:4: other.md#storage (no such heading)",
                                            "page.md:4: nope.png (no such file)"]


@pytest.mark.parametrize("heading, anchor", [
    ("Storage: SQLite or PostgreSQL", "storage-sqlite-or-postgresql"),
    ("Editors' lint", "editors-lint"),
    ("Serving many clients (issue 14 §1)", "serving-many-clients-issue-14-1"),
    ("Comfort lines (话术库)", "comfort-lines-话术库"),
    ("Review: `_learned/wordings.yaml`", "review-_learnedwordingsyaml"),
])
def test_anchors_are_githubs(heading, anchor):
    assert slug(heading) == anchor


def test_prose_lines_are_wrapped():
    long = [f"{page.relative_to(ROOT)}:{n}: {len(line)} characters"
            for page in PAGES for n, line in prose_lines(page.read_text(encoding="utf-8"))
            if len(line) > MAX_PROSE and not line.lstrip().startswith("|")]
    assert not long, "\n".join(long)


def test_the_pages_draw_the_true_layers():
    """Where a page draws the layers (a line `core → …`, lowest first, ``a, b`` sharing a layer), they are LAYERS;
    the README and docs/developers.md must draw them."""
    by_rank: dict[int, list[str]] = {}
    for package, rank in LAYERS.items():
        by_rank.setdefault(rank, []).append(package)
    true = [sorted(by_rank[r]) for r in sorted(by_rank)]
    drawn = {page.name: re.findall(r"^`(core → [^`]*)`$", page.read_text(encoding="utf-8"), re.M) for page in PAGES}
    assert drawn["README.md"] and drawn["developers.md"], "the README or docs/developers.md lost its layer line"
    for name, lines in drawn.items():
        for line in lines:
            assert [sorted(p.strip() for p in group.split(",")) for group in line.split("→")] == true, (name, line)
