import yaml

from tests.helpers import ROOT


def test_openapi_documents_every_route(app):
    spec = yaml.safe_load((ROOT / "server" / "openapi.yaml").read_text("utf-8"))
    documented = {path.replace("{id}", "<path:article_id>") for path in spec["paths"]}
    routes = {rule.rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"}  # files under /static
    assert routes == documented
    codes = set(spec["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"])
    assert {"invalid_json", "question_too_long", "index_unavailable", "internal_error"} <= codes
    from server.errors import HTTP_CODES

    assert set(HTTP_CODES.values()) - {"forbidden"} <= codes, "every code the server or waitress can send"
    assert {"host_not_allowed", "admin_disabled", "rate_limited", "deadline_exceeded"} <= codes
    export = spec["paths"]["/v1/feedback/export"]["get"]
    scheme = spec["components"]["securitySchemes"][next(iter(export["security"][0]))]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer") and {"401", "403"} <= set(export["responses"])


def test_openapi_limits_match_the_settings_and_the_parser():
    from core.config import Config
    from server.payloads import MAX_INDEX_VERSION_CHARS, TOP_K_RANGE

    spec = yaml.safe_load((ROOT / "server" / "openapi.yaml").read_text("utf-8"))
    schemas = spec["components"]["schemas"]
    defaults = Config()
    assert schemas["SuggestRequest"]["allOf"][1]["properties"]["question"]["maxLength"] == defaults.max_question_chars
    batch = spec["paths"]["/v1/suggest/batch"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    questions = next(part for part in batch["allOf"] if "properties" in part)["properties"]["questions"]
    assert questions["maxItems"] == defaults.max_batch
    assert questions["items"]["maxLength"] == defaults.max_question_chars
    top_k = schemas["SearchOptions"]["properties"]["top_k"]
    assert (top_k["minimum"], top_k["maximum"]) == TOP_K_RANGE
    feedback = spec["paths"]["/v1/feedback"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert feedback["properties"]["question"]["maxLength"] == defaults.max_question_chars
    assert feedback["properties"]["index_version"]["maxLength"] == MAX_INDEX_VERSION_CHARS
    assert set(schemas["SearchOptions"]["properties"]["weights"]["properties"]) == set(Config().arms)
    from server.payloads import MAX_NAME_CHARS, MAX_WEIGHT

    assert {w["maximum"] for w in schemas["SearchOptions"]["properties"]["weights"]["properties"].values()} \
        == {MAX_WEIGHT}
    assert schemas["SearchOptions"]["properties"]["product"]["maxLength"] == MAX_NAME_CHARS
    assert feedback["properties"]["article_id"]["maxLength"] == MAX_NAME_CHARS


def test_openapi_conversation_limits_match_the_settings():
    from core.config import Config

    spec = yaml.safe_load((ROOT / "server" / "openapi.yaml").read_text("utf-8"))
    conversation = spec["components"]["schemas"]["SuggestRequest"]["allOf"][1]["properties"]["conversation"]
    assert conversation["maxItems"] == Config().max_conversation_turns
    assert conversation["items"]["properties"]["text"]["maxLength"] == Config().max_turn_chars
    from assist import ROLES

    assert tuple(conversation["items"]["properties"]["role"]["enum"]) == ROLES
