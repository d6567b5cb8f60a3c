"""``python -m server`` (also ``kbs-serve``): serve the suggester under waitress, a production WSGI server."""
from __future__ import annotations

import argparse
import logging
import signal
import sys

from core import config as cfg

# admin_token is left out on purpose: a command line is visible to every user (ps); use KBS_ADMIN_TOKEN.
SERVER_SETTINGS = ("host", "port", "threads", "embedder", "st_model", "st_query_prompt", "st_passage_prompt",
                   "serve_embed_threads", "embed_lanes", "embed_batch", "cors_origins", "allowed_hosts", "reload_interval",
                   "ranker", "confidence_threshold", "fusion", "include_expired", "query_cache_size", "feedback_db",
                   "query_log", "query_log_db", "query_log_queue",
                   "max_embed_chars", "quick_lane_chars", "max_batch_chars", "deadline_s", "rate_limit_kib_per_s",
                   "rate_limit_burst_kib")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m server", description=__doc__.splitlines()[0])
    parser.add_argument("--index", help="index root published by 'python -m indexer build' "
                                        "(default: setting index_dir)")
    cfg.add_arguments(parser, SERVER_SETTINGS)
    args = parser.parse_args(argv)
    overrides = cfg.overrides_from(args, SERVER_SETTINGS)
    if args.index:
        overrides["index_dir"] = args.index
    try:
        config = cfg.load(overrides)
    except cfg.ConfigError as exc:
        parser.error(str(exc))

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from indexer.embed import EmbedderError

    from storage import StorageError

    from .app import create_app

    try:
        app = create_app(config)
    except (EmbedderError, StorageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    holder = app.extensions["kbs_holder"]
    if holder.searcher is None:
        print(f"error: {holder.error}", file=sys.stderr)
        return 2

    from .wsgi import serve

    print(f"serving index {holder.version} on http://{config.host}:{config.port}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # a stop runs the finally below
    try:
        serve(app, config)
    finally:
        app.extensions["kbs_stores"].close()  # write what the query log still holds
    return 0


if __name__ == "__main__":
    sys.exit(main())
