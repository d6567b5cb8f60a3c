"""Assemble the report: load the period, then each section from its own module."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from core.config import Config

from .articles import ArticleFigures, article_figures
from .catalog import Articles
from .embedding import QuestionVectors
from .gaps import Gap, kb_gaps
from .hotspots import Hotspots, hotspots
from .learned import Learned, learned_figures
from .load import Traffic, load_traffic
from .period import Period
from .service import Service, service_figures
from .sources import Sources, open_sources
from .topics import Topic, top_topics


@dataclass(frozen=True)
class Report:
    period: Period
    as_of: dt.date  # "expiring in the next N days" counts from here
    generated_at: str
    articles_source: str
    embedder: str
    titles: dict[str, str]  # article id → title, for every article the KB has
    service: Service
    top: tuple[Topic, ...]
    gaps: tuple[Gap, ...]
    articles: ArticleFigures
    hotspots: Hotspots
    expiry_days: int
    empty: bool
    learned: Learned
    notes: tuple[str, ...] = ()

    def title(self, article_id: str | None) -> str:
        if article_id is None:
            return "—"
        return self.titles.get(article_id, f"{article_id} (not in the KB)")


def build_report(traffic: Traffic, articles: Articles, vectors: QuestionVectors, config: Config, as_of: dt.date,
                 notes: tuple[str, ...] = (), kb: Path | None = None) -> Report:
    """``kb``: the KB folder whose ``_learned/`` data the report lists for review (default: setting kb_dir)."""
    similarity = config.report_cluster_similarity
    return Report(
        period=traffic.period, as_of=as_of,
        generated_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        articles_source=articles.source, embedder=vectors.embedder.id,
        titles={a.id: a.title for a in articles.by_id.values()},
        service=service_figures(traffic.asked, traffic.reactions),
        top=top_topics(traffic.asked, vectors, similarity),
        gaps=kb_gaps(traffic.asked, traffic.reactions, vectors, similarity),
        articles=article_figures(traffic.asked, traffic.reactions, articles.by_id, as_of, config.expiry_warning_days),
        hotspots=hotspots(traffic.asked, traffic.period),
        expiry_days=config.expiry_warning_days, empty=traffic.empty,
        learned=learned_figures(kb if kb is not None else Path(config.kb_dir), config.learned_min_support), notes=notes)


def make_report(config: Config, period: Period, articles: Articles, vectors: QuestionVectors,
                as_of: dt.date, sources: Sources | None = None, kb: Path | None = None) -> Report:
    """The report of ``period`` from the configured feedback and query log, or from ``sources`` already
    open (the server's own stores: no second database connection or pool per report)."""
    opened = sources is None
    sources = open_sources(config) if opened else sources
    try:
        traffic = load_traffic(sources, period)
    finally:
        if opened:
            sources.close()
    notes = tuple(f"nothing recorded yet at {where}" for where in sources.missing)
    return build_report(traffic, articles, vectors, config, as_of, notes, kb)
