"""``GET /metrics``: what a shop watches while the service runs (实时监控), in the Prometheus text format.

Counted per request (``prometheus-client``, one registry per app so that several apps in one process never mix):
requests and latency per endpoint and status; answers by whether they were confident (and why not), out of scope
and handed off. Read at scrape time from what the app already keeps: the embedding lanes' queue and cache, the
query log's queue and drops, the index's version and age, reload failures.

One process: waitress serves every request from threads of one process, so the counters need no multi-process
mode; replicas are scraped one by one (docs/operators.md).
"""
from __future__ import annotations

import time

from flask import Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

# request latencies a person notices: the sidebar's answer should come well under a second
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self, app: Flask):
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("kbs_requests", "HTTP requests answered", ("endpoint", "status"),
                                registry=self.registry)
        self.latency = Histogram("kbs_request_seconds", "Time from reading a request to its response",
                                 ("endpoint",), buckets=BUCKETS, registry=self.registry)
        self.answers = Counter("kbs_answers", "Questions answered, by why they were not confident ('' = confident)",
                               ("endpoint", "unconfident_reason"), registry=self.registry)
        self.out_of_scope = Counter("kbs_out_of_scope_answers", "Questions the shop does not handle",
                                    registry=self.registry)
        self.handoffs = Counter("kbs_handoff_answers", "Questions triage hands to a person", registry=self.registry)
        self.registry.register(_Live(app))

    def answered(self, answer, endpoint: str) -> None:
        result = answer.result
        self.answers.labels(endpoint, result.unconfident_reason or "").inc()
        if result.out_of_scope is not None:
            self.out_of_scope.inc()
        if answer.triage is not None and answer.triage.handoff:
            self.handoffs.inc()

    def install(self, app: Flask) -> None:
        @app.before_request
        def _started():
            g.kbs_started = time.perf_counter()

        @app.after_request
        def _count(response):
            started = g.pop("kbs_started", None)
            endpoint = request.url_rule.rule if request.url_rule is not None else "unmatched"  # bounded labels
            self.requests.labels(endpoint, str(response.status_code)).inc()
            if started is not None:
                self.latency.labels(endpoint).observe(time.perf_counter() - started)
            return response

    def exposition(self) -> Response:
        return Response(generate_latest(self.registry), mimetype=CONTENT_TYPE_LATEST)


class _Live:
    """What the app keeps anyway, read when Prometheus scrapes."""

    def __init__(self, app: Flask):
        self.app = app

    def collect(self):
        holder, stores = self.app.extensions["kbs_holder"], self.app.extensions["kbs_stores"]
        embedding = holder.encoder.stats()
        yield _gauge("kbs_embedding_waiting", "Questions waiting for an embedding lane", embedding["waiting"])
        yield _counter("kbs_embedding_calls", "Calls into the embedding model", embedding["calls"])
        yield _counter("kbs_embedding_cache_hits", "Questions answered from the query-embedding cache",
                       embedding["cache_hits"])
        yield _counter("kbs_embedded_questions", "Questions the model embedded (cache misses)", embedding["embedded"])
        log = stores.query_log.stats()
        yield _gauge("kbs_query_log_queued", "Query-log entries waiting for the writer", log["queued"])
        yield _counter("kbs_query_log_written", "Query-log entries written", log["written"])
        yield _counter("kbs_query_log_dropped", "Query-log entries lost (a full queue or a failed write)",
                       log["dropped"])
        yield _counter("kbs_reload_failures", "Published versions the server refused to load",
                       holder.reload_failures)
        info = GaugeMetricFamily("kbs_index_info", "The index version being served (1)", labels=("version",))
        if holder.version:
            info.add_metric((holder.version,), 1.0)
        yield info
        age = time.time() - holder.loaded_at if holder.loaded_at else float("nan")
        yield _gauge("kbs_index_loaded_seconds", "Seconds since the served version was loaded", age)


def _gauge(name: str, text: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, text, value=value)


def _counter(name: str, text: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, text, value=value)
