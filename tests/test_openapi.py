import yaml

from tests.conftest import ROOT


def test_openapi_documents_every_route(app):
    spec = yaml.safe_load((ROOT / "server" / "openapi.yaml").read_text("utf-8"))
    documented = {path.replace("{id}", "<path:article_id>") for path in spec["paths"]}
    routes = {rule.rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"}  # files under /static
    assert routes == documented
    codes = set(spec["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"])
    assert {"invalid_json", "question_too_long", "index_unavailable", "internal_error"} <= codes
