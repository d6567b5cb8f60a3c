import argparse
import dataclasses

import pytest

from core import config as cfg
from tests.helpers import ROOT


def test_defaults_then_env_then_overrides():
    env = {"KBS_PORT": "9000", "KBS_EMBEDDER": "hash"}
    assert cfg.load(environ={}).port == 8080
    assert cfg.load(environ=env).port == 9000
    assert cfg.load({"port": 9100}, environ=env).port == 9100
    assert cfg.load({"port": None}, environ=env).port == 9000  # an unset CLI flag changes nothing


def test_types_and_choices_are_checked():
    assert cfg.load(environ={"KBS_INCLUDE_EXPIRED": "yes"}).include_expired is True
    assert cfg.load(environ={"KBS_ARMS": "dense, bm25"}).arms == ("dense", "bm25")
    with pytest.raises(cfg.ConfigError, match="port"):
        cfg.load(environ={"KBS_PORT": "eighty"})
    with pytest.raises(cfg.ConfigError, match="embedder"):
        cfg.load({"embedder": "word2vec"}, environ={})


def test_config_is_frozen_and_replaceable():
    config = cfg.load(environ={})
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.port = 1
    assert config.replace(port="81").port == 81


def test_cli_flags_are_generated_from_settings():
    parser = argparse.ArgumentParser()
    cfg.add_arguments(parser, ("port", "embedder"))
    args = parser.parse_args(["--port", "81"])
    assert cfg.overrides_from(args, ("port", "embedder")) == {"port": "81"}
    assert "KBS_PORT" in parser.format_help()


def test_every_setting_is_documented_in_the_operators_page():
    page = (ROOT / "docs" / "operators.md").read_text(encoding="utf-8")
    assert cfg.markdown_table() in page, "docs/operators.md settings table is stale: paste config.markdown_table()"


def test_secrets_are_not_in_the_settings_repr():
    """A Config that lands in a log or a traceback shows neither the admin token nor the database URL."""
    config = cfg.load({"admin_token": "tok-3f9a", "database_url": "postgresql://u:pw-77@h/db"}, environ={})
    assert config.admin_token == "tok-3f9a"
    assert "tok-3f9a" not in repr(config) and "pw-77" not in repr(config)


def test_a_renamed_setting_left_in_the_environment_is_an_error_naming_the_new_one():
    """embed_batch (the server's micro-batch) read like embed_batch_size (the build's): it is serve_embed_batch."""
    with pytest.raises(cfg.ConfigError, match="KBS_EMBED_BATCH is now KBS_SERVE_EMBED_BATCH"):
        cfg.load(environ={"KBS_EMBED_BATCH": "4"})
    assert cfg.load(environ={"KBS_SERVE_EMBED_BATCH": "4"}).serve_embed_batch == 4
