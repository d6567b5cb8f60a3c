"""Contradictions: the same fact stated with different numbers in two articles.

Only a few facts that agents copy and customers hold the shop to are extracted, each by a
narrow pattern: the 无理由 return window, a product's (unopened) shelf life and the dispatch
time. A fact's scope is its topic, the product its sentence names (else the article's own
product; else shop-wide) and a qualifier such as 预售 or 活动期间 that marks an exception; only
facts with the same scope are compared. Articles with a validity window (promotions, seasonal
rules) are exceptions by design and are left out. Precision first: a warning, never an error.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..records import Article, Diagnostic

CN_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10,
             "十五": 15, "三十": 30}
NUMBER = r"([0-9]+|十五|三十|[一二两三四五六七八九十])"
UNIT_DAYS = {"小时": 1 / 24, "天": 1, "日": 1, "个工作日": 1, "工作日": 1, "周": 7, "个月": 30, "月": 30, "年": 365}
# (topic, label for the message, pattern: group 1 the number, group 2 the unit)
FACTS = (
    ("return_window", "无理由退货期限",
     re.compile(rf"(?:签收|收货|收到)[^，。；]{{0,6}}?{NUMBER}\s*(天)内?[^。；]{{0,20}}?无理由")),
    ("return_window", "无理由退货期限", re.compile(rf"{NUMBER}\s*(天)无理由")),
    ("shelf_life", "保质期", re.compile(rf"(?<!开封后)(?<!开袋后)保质期(?:为|是|：|:)?\s*{NUMBER}\s*(天|个月|月|年)")),
    ("dispatch_time", "发货时间",
     re.compile(rf"{NUMBER}\s*(小时|个工作日|工作日|天)内(?:安排)?发(?:货|出)")),
)
# A sentence naming one of these states an exception, not the rule: compared only with its own kind.
QUALIFIERS = ("预售", "定制", "活动期间", "大促", "双11", "双十一", "618", "福袋", "偏远", "港澳台", "海外", "质量问题",
              "过敏", "换货", "换尺码", "开封后", "开袋后")
SENTENCE = re.compile(r"[^。；;！？!?\n]+")


@dataclass(frozen=True)
class Fact:
    topic: str
    label: str
    product: str  # canonical product name, '' for shop-wide
    qualifier: str
    days: float
    said: str  # the number as written, with its unit
    path: str
    line: int


def check_contradictions(articles, lines: dict[str, list[str]]) -> list[Diagnostic]:
    canonical = _products(articles)
    facts = [f for a in articles if not (a.valid_from or a.valid_until)
             for f in _facts(a, lines[a.path], canonical)]
    groups: dict[tuple, list[Fact]] = {}
    for fact in facts:
        groups.setdefault((fact.topic, fact.product, fact.qualifier), []).append(fact)
    found = []
    for group in groups.values():
        for fact in group:
            other = next((o for o in group if o.path != fact.path and not _same(o.days, fact.days)), None)
            if other is not None:
                about = f"{fact.product} " if fact.product else ""
                found.append(Diagnostic(fact.path, fact.line, "warning",
                                        f"contradiction: {about}{fact.label} is {fact.said} here but {other.said} "
                                        f"in {other.path}:{other.line}; say it once, or name what differs"))
    return found


def _same(a: float, b: float) -> bool:
    """6 个月 and 180 天 are one fact; 12 个月 and 1 年 too."""
    return abs(a - b) <= 0.05 * max(a, b)


def _products(articles) -> dict[str, str]:
    """Every product name or SKU → its product's full name. An article's first product is a full name; a
    list naming one full name alone is about that product, so all its names (SKU, short names) go to it;
    in a list about several products, a short name goes to the one full name that contains it."""
    heads = {a.products[0] for a in articles if a.products}
    canonical: dict[str, str] = {}
    for article in sorted(articles, key=lambda a: len(set(a.products) & heads)):
        named = [n for n in article.products if n in heads]
        for name in article.products:
            if len(named) == 1:
                canonical.setdefault(name, named[0])
            else:
                owners = [h for h in named if name in h]
                if len(owners) == 1:
                    canonical.setdefault(name, owners[0])
    return canonical


def _facts(article: Article, lines: list[str], canonical: dict[str, str]) -> list[Fact]:
    own = {canonical[p] for p in article.products if p in canonical}
    names = sorted(canonical, key=len, reverse=True)
    body_start = _body_start(lines)
    found = []
    for number, line in enumerate(lines[body_start:], start=body_start + 1):
        for sentence in SENTENCE.findall(line):
            named = {canonical[n] for n in names if n in sentence}
            products = named or own
            for topic, label, pattern in FACTS:
                for match in pattern.finditer(sentence):
                    # an exception is named before its number: 活动期间…72 小时; 未开封 3 年，开封后 12 个月
                    qualifier = next((q for q in QUALIFIERS if q in sentence[:match.end()]), "")
                    if topic == "shelf_life" and len(products) != 1:
                        continue  # whose shelf life? unknown: no comparison
                    product = next(iter(products)) if len(products) == 1 else ""
                    if topic != "shelf_life" and not named:
                        product = ""  # a rule in a product's article is still the shop's rule unless named
                    value, unit = match.group(1), match.group(2)
                    amount = int(value) if value.isdigit() else CN_DIGITS[value]
                    found.append(Fact(topic, label, product, qualifier, amount * UNIT_DAYS[unit],
                                      f"{value} {unit}", article.path, number))
    return _dedupe(found)


def _dedupe(facts: list[Fact]) -> list[Fact]:
    """Two patterns may read the same words: keep one fact per line, topic and value."""
    seen, kept = set(), []
    for fact in facts:
        key = (fact.topic, fact.line, fact.days, fact.product, fact.qualifier)
        if key not in seen:
            seen.add(key)
            kept.append(fact)
    return kept


def _body_start(lines: list[str]) -> int:
    """Index of the first body line (after the front matter)."""
    if not lines or lines[0] != "---":
        return 0
    for index, line in enumerate(lines[1:], start=1):
        if line.startswith("---"):
            return index + 1
    return 0
