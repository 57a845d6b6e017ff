"""Generated files (completions, docs/cli.md) match the CLI, and completion works through the entry point."""

from __future__ import annotations

import os
import subprocess

from carecli import devtools


def test_completions_and_cli_docs_are_up_to_date():
    assert devtools.drift() == [], "run: python -m carecli.devtools regen"


def test_drift_is_detected(tmp_path):
    for path, content in devtools.generate().items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(content)
    assert devtools.drift(tmp_path) == []
    (tmp_path / "docs/cli.md").write_text("stale\n")
    assert devtools.drift(tmp_path) == ["docs/cli.md"]


def _complete(words: str, cword: int, **env) -> list[str]:
    result = subprocess.run(
        [devtools.entry_point()],
        env={**os.environ, **env, "COMP_WORDS": words, "COMP_CWORD": str(cword), "_CARECLI_COMPLETE": "complete_bash"},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.split()


def test_bash_completes_a_subcommand():
    assert _complete("carecli exp", 1) == ["export"]
    assert _complete("carecli db ", 2) == ["backup", "check", "info", "migrate", "refresh", "purge"]


def test_bash_completes_channels_from_the_config(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('channels = ["email", "pigeon", "post"]\n')
    assert _complete("carecli ticket open ada subj --channel p", 6, CARECLI_CONFIG=str(config)) == ["pigeon", "post"]
    assert _complete("carecli export t", 2) == ["tickets"]
