"""``python -m server`` (also ``kbs-serve``): serve the suggester under waitress, a production WSGI server."""
from __future__ import annotations

import argparse
import errno
import logging
import signal
import sys

from core import config as cfg

# admin_token is left out on purpose: a command line is visible to every user (ps); use KBS_ADMIN_TOKEN.
SERVER_SETTINGS = ("host", "port", "threads", "embedder", "st_model", "st_query_prompt", "st_passage_prompt",
                   "serve_embed_threads", "embed_lanes", "serve_embed_batch", "cors_origins", "allowed_hosts", "reload_interval",
                   "ranker", "confidence_threshold", "fusion", "include_expired", "query_cache_size", "feedback_db",
                   "query_log", "query_log_db", "query_log_queue",
                   "max_embed_chars", "quick_lane_chars", "max_batch_chars", "deadline_s", "rate_limit_kib_per_s",
                   "rate_limit_burst_kib", "max_connections", "connections_per_address", "request_deadline_s",
                   "proxy_hops")


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

    from .wsgi import make_server

    try:  # bind before saying "serving": a busy port is one line and exit 2, not a false start
        server = make_server(app, config)
    except OSError as exc:
        app.extensions["kbs_stores"].close()
        print(f"error: {listen_error(exc, config)}", file=sys.stderr)
        return 2
    print(f"serving index {holder.version} on http://{config.host}:{config.port}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # a stop runs the finally below
    try:
        server.print_listen("Serving on http://{}:{}")
        server.run()
    finally:
        app.extensions["kbs_stores"].close()  # write what the query log still holds
    return 0


def listen_error(exc: OSError, config: cfg.Config) -> str:
    """Why the server cannot listen, in the operator's terms."""
    if exc.errno == errno.EADDRINUSE:
        return (f"port {config.port} on {config.host} is in use (another server is running there?); "
                f"stop it or pick another with --port")
    if exc.errno == errno.EACCES:
        return f"not allowed to listen on port {config.port} (ports below 1024 need privileges); pick another"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"{config.host} is not an address of this machine; pick another with --host"
    return f"cannot listen on {config.host}:{config.port}: {exc.strerror or exc}"


if __name__ == "__main__":
    sys.exit(main())
