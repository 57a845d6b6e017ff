"""Configuration: defaults < file < environment, every key documented, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from carecli.core import config
from carecli.core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_every_key_is_documented_in_config_example():
    text = (ROOT / "config.example.toml").read_text()
    for name in config.KEYS:
        section, _, leaf = name.rpartition(".")
        if section:
            assert f"[{section}]" in text, f"config.example.toml lacks section [{section}]"
        assert f"{leaf} =" in text or f"# {leaf} =" in text, f"config.example.toml lacks key {name}"


def test_config_example_loads_and_matches_the_defaults():
    settings = config.load(ROOT / "config.example.toml", env={})
    assert settings.warnings == []
    for name, key in config.KEYS.items():
        if key.kind != "table":
            assert settings[name] == key.default, name


def test_file_then_environment_precedence(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('timezone = "Asia/Tokyo"\nchannels = ["email", "phone"]\n')
    settings = config.load(path, env={"CARECLI_TIMEZONE": "America/New_York"})
    assert settings["timezone"] == "America/New_York"
    assert settings.sources["timezone"] == "env CARECLI_TIMEZONE"
    assert settings["channels"] == ["email", "phone"]
    assert settings.sources["channels"] == str(path)
    assert settings.sources["dayfirst"] == "default"


def test_missing_default_file_is_fine_but_missing_explicit_file_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert config.load(None, env={}).sources["timezone"] == "default"
    with pytest.raises(ConfigError, match="does not exist"):
        config.load(tmp_path / "nope.toml", env={})


def test_invalid_toml_names_file_and_line(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('timezone = "UTC"\nchannels = [email]\n')
    with pytest.raises(ConfigError) as error:
        config.load(path, env={})
    assert str(path) in str(error.value) and "line 2" in str(error.value)


def test_wrong_type_names_file_line_and_key(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('\n\ndayfirst = "maybe"\n')
    with pytest.raises(ConfigError, match=r"bad.toml:3: 'dayfirst' must be true or false"):
        config.load(path, env={})


def test_unknown_zone_is_an_error(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('timezone = "Mars/Olympus"\n')
    with pytest.raises(ConfigError, match="unknown time zone"):
        config.load(path, env={})


def test_unknown_key_is_a_warning(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('colour = "blue"\n')
    assert "unknown key 'colour'" in config.load(path, env={}).warnings[0]


def test_config_show_and_path_through_the_cli(run, tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('default_channel = "phone"\n')
    rows = {r["key"]: r for r in run.json("--config", str(path), "config", "show")}
    assert rows["default_channel"]["value"] == "phone"
    assert rows["default_channel"]["source"] == str(path)
    assert rows["timezone"]["source"] == "env CARECLI_TIMEZONE"
    paths = {r["what"]: r for r in run.json("--config", str(path), "config", "path")}
    assert paths["config"]["path"] == str(path) and paths["config"]["exists"] is True


def test_broken_config_is_a_one_line_cli_error(run, tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("timezone = \n")
    result = run("--config", str(path), "ticket", "list")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: invalid TOML in") and result.stderr.count("\n") == 1
