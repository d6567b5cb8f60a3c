"""Each blueprint carries its own auth and CORS (issue 21 §3): every admin route needs the token and never has CORS,
every public route has CORS where configured, and no route lives outside the three blueprints."""
import pytest

from server import create_app
from tests.helpers import TODAY, make_searcher

TOKEN = "blueprint-admin-token"


@pytest.fixture
def open_app(index_root, config, hash_embedder):
    config = config.replace(cors_origins="*", admin_token=TOKEN)
    return create_app(config, searcher=make_searcher(index_root, hash_embedder, config), today=lambda: TODAY)


def _routes(app, blueprint):
    return [(rule.rule.replace("<path:article_id>", "cream-shelf-life"), sorted(rule.methods - {"HEAD", "OPTIONS"}))
            for rule in app.url_map.iter_rules() if rule.endpoint.startswith(blueprint + ".")]


def test_every_route_belongs_to_a_blueprint_that_decides_its_auth_and_cors(open_app):
    endpoints = {rule.endpoint.split(".")[0] for rule in open_app.url_map.iter_rules() if rule.endpoint != "static"}
    assert endpoints == {"public", "admin", "pages"}


def test_every_admin_route_needs_the_token_and_never_has_cors(open_app):
    client = open_app.test_client()
    origin = {"Origin": "https://evil.example"}
    routes = _routes(open_app, "admin")
    assert len(routes) == 3
    for path, methods in routes:
        for method in methods:
            refused = client.open(path, method=method, headers=origin)
            assert refused.status_code == 401, path
            assert not any(h.startswith("Access-Control") for h in refused.headers.keys()), path
        preflight = client.options(path, headers={**origin, "Access-Control-Request-Method": "GET"})
        assert not any(h.startswith("Access-Control") for h in preflight.headers.keys()), path


def test_every_public_route_has_cors_where_configured(open_app):
    client = open_app.test_client()
    routes = _routes(open_app, "public")
    assert len(routes) == 5
    for path, methods in routes:
        preflight = client.options(path, headers={"Origin": "https://sidebar.example",
                                                  "Access-Control-Request-Method": methods[0]})
        assert preflight.headers.get("Access-Control-Allow-Origin") in ("*", "https://sidebar.example"), path


def test_behind_a_proxy_the_rate_limit_keys_on_the_forwarded_address_and_only_the_proxys(index_root, config,
                                                                                          hash_embedder):
    """Issue 23 §3: with proxy_hops 1 every agent behind one nginx has its own bucket (werkzeug's ProxyFix); a
    client's own X-Forwarded-For is not believed beyond the hops the proxy adds."""
    config = config.replace(rate_limit_kib_per_s=0.001, rate_limit_burst_kib=4.0, proxy_hops=1)
    app = create_app(config, searcher=make_searcher(index_root, hash_embedder, config), today=lambda: TODAY)
    client = app.test_client()

    def ask(forwarded):
        return client.post("/v1/suggest", json={"question": "发货"}, environ_base={"REMOTE_ADDR": "10.0.0.9"},
                           headers={"X-Forwarded-For": forwarded}).status_code

    assert [ask("192.168.1.7") for _ in range(4)] == [200] * 4  # 4 × the 1 KiB minimum
    assert ask("192.168.1.7") == 429
    assert ask("192.168.1.8") == 200, "another agent behind the same proxy has its own bucket"
    assert ask("1.2.3.4, 192.168.1.7") == 429, "only the last hop, the proxy's, is believed"
    plain = create_app(config.replace(proxy_hops=0), searcher=make_searcher(index_root, hash_embedder, config),
                       today=lambda: TODAY).test_client()
    codes = [plain.post("/v1/suggest", json={"question": "发货"}, environ_base={"REMOTE_ADDR": "10.0.0.9"},
                        headers={"X-Forwarded-For": f"192.168.1.{n}"}).status_code for n in range(6)]
    assert codes[-1] == 429, "without proxy_hops a claimed address changes nothing"
