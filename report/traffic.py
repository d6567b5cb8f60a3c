"""A week of plausible customer traffic, planned from the labelled question sets (for the replay demo).

Nothing here talks to a server: ``plan_week`` turns the labelled questions into timestamped messages
with a seeded RNG, so the same seed gives the same week. What makes it look like a shop's week:

- the topic mix of ``../shared/DOMAIN.md`` (logistics ~39%, returns ~24%, …), and inside a topic a few
  questions asked far more often than the rest (Zipf weights: the TOP10 a report should find);
- the way people type the same thing: a greeting before it, another ending, an order or phone number
  in it (masked by the query log, so ``[单号]`` variants collapse and phone variants do not);
- service hours (9:00–22:00 shop time, a trickle at night), busier weekends, one promotion day when
  coupon questions triple, and one courier-trouble day when angry logistics messages quadruple.
"""
from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

from .period import shop_zone

# Topic shares from DOMAIN.md (logistics 39%, returns 24%); the rest split by what agents see most.
TOPIC_SHARES = {"物流": 0.39, "退换货": 0.24, "售后/质量": 0.10, "商品咨询": 0.10, "活动优惠": 0.07,
                "售前": 0.04, "支付发票": 0.03, "转人工": 0.02, "闲聊/其他": 0.04}
# The shipped set is labelled by article; its article's KB category stands for the topic.
CATEGORY_TOPIC = {"物流": "物流", "退换货": "退换货", "售后服务": "售后/质量", "商品规格": "商品咨询",
                  "保质期": "商品咨询", "活动优惠": "活动优惠", "发票与支付": "支付发票", "售前咨询": "售前"}
ZIPF_S = 1.0  # within a topic, the r-th most popular question is asked ~1/r as often as the first
HOUR_WEIGHTS = (1, 1, 0, 0, 0, 0, 1, 2, 4, 8, 10, 9, 6, 8, 9, 8, 7, 6, 6, 8, 10, 9, 6, 2)  # shop-time hours
WEEKDAY_WEIGHTS = (1.0, 0.95, 0.95, 1.0, 1.1, 1.3, 1.25)  # Monday … Sunday
GREETINGS = ("亲，", "你好，", "在吗？", "您好 ", "客服，", "hello ", "麻烦问下，")
ENDINGS = ("", "？", "?", "呀", "啊", "。", "～", "??", "！")
PROMOTION_BOOST, TROUBLE_BOOST = 3.0, 4.0


@dataclass(frozen=True)
class Seed:
    """One labelled question. ``relevant``: its right articles; () out of scope; None not labelled."""

    text: str
    topic: str
    relevant: tuple[str, ...] | None
    angry: bool = False


@dataclass(frozen=True)
class Visit:
    """One customer message of the replayed week, at a chosen UTC time."""

    at: dt.datetime
    text: str
    seed: Seed


def load_seeds(questions: Path, triage: Path, categories: Mapping[str, str]) -> list[Seed]:
    """The shipped set (``{q, relevant}``) and the triage set (``{text, intent, emotion}``);
    ``categories`` maps article id → KB category, for the shipped set's topic."""
    seeds = []
    for item in _jsonl(questions):
        relevant = tuple(item.get("relevant") or ())
        topic = CATEGORY_TOPIC.get(categories.get(relevant[0], ""), "商品咨询") if relevant else "闲聊/其他"
        seeds.append(Seed(item["q"], topic, relevant))
    for item in _jsonl(triage):
        seeds.append(Seed(item["text"], item["intent"], None, item.get("emotion") == "angry"))
    return seeds


def _jsonl(path: Path) -> Iterable[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def plan_week(seeds: list[Seed], end: dt.datetime, days: int, per_day: int, seed: int,
              utc_offset_hours: float) -> list[Visit]:
    """``days × per_day`` messages in the days before ``end`` (UTC), in time order."""
    rng = random.Random(seed)
    by_topic: dict[str, list[Seed]] = {}
    for s in seeds:
        by_topic.setdefault(s.topic, []).append(s)
    popularity = {topic: _zipf(items, rng) for topic, items in by_topic.items()}
    topics = [t for t in TOPIC_SHARES if t in by_topic]
    shop = shop_zone(utc_offset_hours)
    first = (end.astimezone(shop) - dt.timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)
    day_starts = [first + dt.timedelta(days=d) for d in range(days)]
    counts = _spread(per_day * days, [WEEKDAY_WEIGHTS[d.weekday()] for d in day_starts], rng)
    promotion, trouble = rng.sample(range(days), 2) if days >= 2 else (0, 0)
    visits = []
    for index, (start, count) in enumerate(zip(day_starts, counts)):
        shares = [TOPIC_SHARES[t] * (PROMOTION_BOOST if index == promotion and t == "活动优惠" else 1) for t in topics]
        for _ in range(count):
            topic = rng.choices(topics, shares)[0]
            items, weights = popularity[topic]
            if index == trouble and topic == "物流":
                weights = [w * (TROUBLE_BOOST if s.angry else 1) for s, w in zip(items, weights)]
            chosen = rng.choices(items, weights)[0]
            at = start + dt.timedelta(hours=rng.choices(range(24), HOUR_WEIGHTS)[0], seconds=rng.randrange(3600))
            if at < end:
                visits.append(Visit(at.astimezone(dt.timezone.utc), vary(chosen.text, rng), chosen))
    visits.sort(key=lambda v: v.at)
    return visits


def _zipf(items: list[Seed], rng: random.Random) -> tuple[list[Seed], list[float]]:
    order = items[:]
    rng.shuffle(order)
    return order, [1 / (rank ** ZIPF_S) for rank in range(1, len(order) + 1)]


def _spread(total: int, weights: list[float], rng: random.Random) -> list[int]:
    """``total`` split in proportion to ``weights`` (±10% noise per day), summing exactly to ``total``."""
    noisy = [w * rng.uniform(0.9, 1.1) for w in weights]
    raw = [total * w / sum(noisy) for w in noisy]
    counts = [int(r) for r in raw]
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - counts[i], reverse=True)[:total - sum(counts)]:
        counts[i] += 1
    return counts


def vary(text: str, rng: random.Random) -> str:
    """The same question as another customer types it."""
    roll = rng.random()
    if roll < 0.05:
        text = f"{text} 订单号{rng.randrange(10 ** 18, 10 ** 19)}"
    elif roll < 0.08:
        text = f"{text} 我手机1{rng.choice('3589')}{rng.randrange(10 ** 8, 10 ** 9)}"
    if rng.random() < 0.3:
        text = rng.choice(GREETINGS) + text
    if rng.random() < 0.3:
        text = text.rstrip("？?。！!～~ ") + rng.choice(ENDINGS)
    return text
