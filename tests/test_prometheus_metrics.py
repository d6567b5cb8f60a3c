"""GET /metrics (issue 23 §4): what a shop watches, in the Prometheus text format, counted per app."""
from prometheus_client.parser import text_string_to_metric_families

from server import create_app
from tests.helpers import TODAY, make_searcher


def _samples(client) -> dict:
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.get_data(as_text=True)) for s in family.samples}


def test_requests_answers_and_the_live_figures_are_counted(index_root, config, hash_embedder):
    app = create_app(config, searcher=make_searcher(index_root, hash_embedder, config), today=lambda: TODAY)
    client = app.test_client()
    for question in ("面霜保质期多久", "面霜保质期多久", "。。。？？？"):
        assert client.post("/v1/suggest", json={"question": question}).status_code == 200
    assert client.post("/v1/suggest/batch", json={"questions": ["发货要多久", "你好"]}).status_code == 200
    assert client.post("/v1/suggest", json={"question": ""}).status_code == 400
    found = _samples(client)
    suggest = (("endpoint", "/v1/suggest"), ("status", "200"))
    assert found[("kbs_requests_total", suggest)] == 3
    assert found[("kbs_requests_total", (("endpoint", "/v1/suggest"), ("status", "400")))] == 1
    assert found[("kbs_request_seconds_count", (("endpoint", "/v1/suggest"),))] == 4
    answers = {labels: v for (name, labels), v in found.items() if name == "kbs_answers_total"}
    assert sum(answers.values()) == 5
    assert answers[(("endpoint", "suggest"), ("unconfident_reason", "no_words"))] == 1
    assert answers[(("endpoint", "batch"), ("unconfident_reason", "greeting"))] == 1
    assert found[("kbs_embedding_cache_hits_total", ())] >= 1, "the repeated question came from the cache"
    assert found[("kbs_index_info", (("version", app.extensions["kbs_holder"].version),))] == 1
    assert found[("kbs_reload_failures_total", ())] == 0
    assert ("kbs_query_log_dropped_total", ()) in found


def test_two_apps_in_one_process_count_apart(index_root, config, hash_embedder):
    apps = [create_app(config, searcher=make_searcher(index_root, hash_embedder, config),
                       today=lambda: TODAY) for _ in range(2)]
    apps[0].test_client().post("/v1/suggest", json={"question": "发货要多久"})
    assert ("kbs_requests_total", (("endpoint", "/v1/suggest"), ("status", "200"))) \
        not in _samples(apps[1].test_client())
