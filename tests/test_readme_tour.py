"""The README's tour runs in order, as written, through the installed entry point."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def tour_commands() -> list[list[str]]:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"^## A tour\n.*?^```sh\n(.*?)^```", text, re.S | re.M)
    assert block, "README.md has no '## A tour' section with a ```sh block"
    joined = block[1].replace("\\\n", " ")
    return [words for line in joined.splitlines() if (words := shlex.split(line, comments=True))]


def test_the_readme_tour_runs_in_order(tmp_path):
    carecli = str(Path(sys.executable).with_name("carecli"))
    env = {
        **os.environ,
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "CARECLI_NOW": "2026-03-14T10:00:00+00:00",
        "TZ": "UTC",
    }
    env.pop("CARECLI_DB", None)
    commands = tour_commands()
    assert commands[0][:2] == ["carecli", "init"] and len(commands) >= 10
    for words in commands:
        assert words[0] == "carecli", words
        output = None
        if ">" in words:  # the one shell feature the tour uses: stdout to a file
            at = words.index(">")
            output, words = tmp_path / words[at + 1], words[:at]
        result = subprocess.run([carecli, *words[1:]], env=env, cwd=tmp_path, capture_output=True, text=True)
        assert result.returncode == 0, f"{shlex.join(words)}: exit {result.returncode}\n{result.stderr}"
        assert "error" not in result.stderr.lower(), f"{shlex.join(words)}: {result.stderr}"
        if output is not None:
            output.write_text(result.stdout)
    assert (tmp_path / "tickets.csv").read_text().startswith("id,")
