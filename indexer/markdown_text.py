"""Markdown → plain text, via the ``markdown`` package, so snippets and answers read cleanly."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import markdown

_BLOCKS = {"p", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "br", "div", "table"}
_CELLS = {"td", "th"}


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in _CELLS:
            self.parts.append(" | ")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if self.skip:
            return
        if not data.strip():  # whitespace between tags: keep inline spaces, drop layout newlines
            data = "" if "\n" in data else " "
        self.parts.append(data)


# what is left of raw HTML that Markdown escaped instead of passing through (``<img src=x onerror=…>`` with
# unquoted attributes): it must not reach a reply template an agent copies to a customer
HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
_EXTERNAL = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:|//|\\\\)", re.IGNORECASE)


def _no_external_images(element: str, attribute: str, value: str) -> str | None:
    """Drop an image's source when it lives elsewhere: a tracking pixel would tell a third party
    who read which article, and when."""
    if element == "img" and attribute in ("src", "srcset") and _EXTERNAL.match(value):
        return None
    return value


def render_html(md: str, safe: bool = False) -> str:
    """HTML of a Markdown text; ``safe`` strips scripts, event handlers, other active content and
    images from other hosts (via nh3), since KB text may contain raw HTML."""
    html = markdown.markdown(md, extensions=["tables", "sane_lists"])
    if safe:
        import nh3

        html = nh3.clean(html, attribute_filter=_no_external_images)
    return html


def markdown_to_text(md: str) -> str:
    collector = _TextCollector()
    collector.feed(render_html(md))
    text = HTML_TAG.sub("", "".join(collector.parts))
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.split("\n")]
    lines = [line.removeprefix("| ").strip() if line.startswith("| ") else line for line in lines]
    return "\n".join(line for line in lines if line)
