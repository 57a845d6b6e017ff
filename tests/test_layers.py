"""The import rule: each layer imports only the layers below it, and every module imports on its own."""

from __future__ import annotations

import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import carecli

ROOT = Path(__file__).resolve().parent.parent
ORDER = "text < core < schema < records < measure < data < mail < demo < cli"


def lint_imports() -> list[str]:
    found = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    if found is None:
        pytest.skip("import-linter is not installed (pip install '.[test]')")
    return [found, "--config", str(ROOT / "pyproject.toml"), "--no-cache"]


def test_no_layer_imports_a_layer_above_it_and_domain_packages_never_import_typer_or_rich():
    result = subprocess.run(lint_imports(), cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, (
        f"An import breaks the one-way rule ({ORDER}; text..demo never import typer or rich; "
        "see docs/architecture.md). Move the import, or move the code down a layer.\n" + result.stdout + result.stderr
    )


def all_modules() -> list[str]:
    names = ["carecli"]
    for info in pkgutil.walk_packages(carecli.__path__, prefix="carecli."):
        names.append(info.name)
    return sorted(names)


def test_the_module_list_finds_every_package():
    packages = {name.split(".")[1] for name in all_modules() if name.count(".") >= 1}
    assert {"text", "core", "schema", "records", "measure", "data", "mail", "demo", "cli"} <= packages


@pytest.mark.parametrize("module", all_modules())
def test_each_module_imports_in_a_fresh_interpreter(module):
    # A cycle that a full test run hides (some other module imported first) fails here.
    result = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, f"`python -c 'import {module}'` fails on its own:\n{result.stderr}"
