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
