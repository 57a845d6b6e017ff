"""Files generated from the CLI itself: shell completions and docs/cli.md.

    python -m carecli.devtools regen           # rewrite them after changing any command
    python -m carecli.devtools regen --check   # exit 1 if any is out of date (the drift tests do this)

Generated through the installed `carecli` entry point, exactly as a user's shell would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COMPLETIONS = {
    "completions/carecli.bash": "source_bash",
    "completions/_carecli": "source_zsh",
    "completions/carecli.fish": "source_fish",
}
CLI_DOCS = "docs/cli.md"


def entry_point() -> str:
    found = shutil.which("carecli", path=str(Path(sys.executable).parent)) or shutil.which("carecli")
    if found is None:
        raise SystemExit("error: the carecli entry point is not installed; run pip install -e . first")
    return found


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CARECLI_", "_CARECLI_"))}
    env.update({"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"})
    return env


def generate() -> dict[str, str]:
    """Relative path -> the content it should have."""
    env = _clean_env()
    files = {}
    for path, instruction in COMPLETIONS.items():
        files[path] = subprocess.run(
            [entry_point()], env={**env, "_CARECLI_COMPLETE": instruction}, capture_output=True, text=True, check=True
        ).stdout
    docs = subprocess.run(
        [sys.executable, "-m", "typer", "carecli.cli", "utils", "docs", "--name", "carecli"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    ).stdout
    files[CLI_DOCS] = docs.rstrip("\n") + "\n"
    return files


def drift(root: Path = REPO) -> list[str]:
    """Generated files whose committed content differs from what the CLI produces now."""
    stale = []
    for path, content in generate().items():
        target = root / path
        if not target.exists() or target.read_text(encoding="utf-8") != content:
            stale.append(path)
    return stale


def regen(root: Path = REPO) -> list[str]:
    written = []
    for path, content in generate().items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists() or target.read_text(encoding="utf-8") != content:
            target.write_text(content, encoding="utf-8")
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] != "regen" or set(argv[1:]) - {"--check"}:
        print("usage: python -m carecli.devtools regen [--check]", file=sys.stderr)
        return 2
    if "--check" in argv:
        stale = drift()
        for path in stale:
            print(f"out of date: {path} (run python -m carecli.devtools regen)", file=sys.stderr)
        return 1 if stale else 0
    for path in regen():
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
