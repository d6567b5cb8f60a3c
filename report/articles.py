"""What happened to each article: never suggested, rejected (👎), copied (adopted), expiring or expired
yet still asked about."""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Mapping

from indexer.records import Article

from .load import Asked, Reaction

TOP = 10


@dataclass(frozen=True)
class ArticleUse:
    article_id: str
    count: int  # 👎 or copies in the period
    suggested: int  # questions it was among the suggestions for


@dataclass(frozen=True)
class Expiry:
    article_id: str
    valid_until: dt.date
    days_left: int  # from the report's date; negative: ended that many days ago
    asked: int  # expiring: questions it was suggested for; expired: those after its end (shown flagged)
    last_asked: dt.date | None


@dataclass(frozen=True)
class ArticleFigures:
    never_suggested: tuple[str, ...]
    most_rejected: tuple[ArticleUse, ...]
    most_copied: tuple[ArticleUse, ...]
    expiring: tuple[Expiry, ...]
    expired_asked: tuple[Expiry, ...]


def article_figures(asked: tuple[Asked, ...], reactions: tuple[Reaction, ...], articles: Mapping[str, Article],
                    as_of: dt.date, expiry_days: int) -> ArticleFigures:
    suggested = Counter(article for a in asked for article in set(a.top_ids))
    return ArticleFigures(
        never_suggested=tuple(sorted((a for a in articles if not suggested[a]),
                                     key=lambda a: (articles[a].category, a))),
        most_rejected=_most(reactions, "down", suggested),
        most_copied=_most(reactions, "copy", suggested),
        expiring=tuple(sorted((_expiry(a, asked, as_of, after_end=False) for a in articles.values()
                               if a.valid_until and 0 <= (a.valid_until - as_of).days <= expiry_days),
                              key=lambda e: (e.valid_until, e.article_id))),
        expired_asked=tuple(sorted((e for e in (_expiry(a, asked, as_of, after_end=True) for a in articles.values()
                                                if a.valid_until and a.valid_until < as_of) if e.asked),
                                   key=lambda e: (-e.asked, e.article_id))),
    )


def _most(reactions: tuple[Reaction, ...], action: str, suggested: Counter) -> tuple[ArticleUse, ...]:
    counts = Counter(r.article_id for r in reactions if r.action == action and r.article_id)
    ranked = sorted(counts, key=lambda a: (-counts[a], a))[:TOP]
    return tuple(ArticleUse(a, counts[a], suggested[a]) for a in ranked)


def _expiry(article: Article, asked: tuple[Asked, ...], as_of: dt.date, after_end: bool) -> Expiry:
    days = [a.day for a in asked if article.id in a.top_ids and (not after_end or a.day > article.valid_until)]
    return Expiry(article.id, article.valid_until, (article.valid_until - as_of).days, len(days),
                  max(days) if days else None)
