"""Every CSV carecli writes neutralises spreadsheet formulas the same way, unless --raw."""

from __future__ import annotations

import csv
import io

import pytest

FORMULAS = ['=HYPERLINK("http://x","y")', "+1", "-2", "@x", "\t=1+1", "\r=1+1"]


def _column(text: str, name: str) -> list[str]:
    return [row[name] for row in csv.DictReader(io.StringIO(text, newline=""))]


@pytest.fixture
def formulas(run):
    for i, name in enumerate(FORMULAS):
        run("customer", "add", "--email", f"c{i}@example.com", "--", name, ok=True)
        run("ticket", "open", f"c{i}@example.com", "--", name, ok=True)
    return run


@pytest.mark.parametrize(
    "args, column",
    [
        (("customer", "list", "--format", "csv"), "name"),
        (("ticket", "list", "--format", "csv"), "customer_name"),
        (("ticket", "list", "--format", "csv"), "subject"),
        (("export", "customers"), "name"),
        (("export", "tickets"), "customer_name"),
        (("export", "tickets"), "subject"),
    ],
)
def test_formulas_are_neutralised_alike_and_raw_keeps_them(formulas, args, column):
    # The commands strip a leading tab or CR from names and subjects; what is stored is the text.
    stored = sorted(c["name"] for c in formulas.json("customer", "list"))
    assert stored[:4] == ["+1", "-2", "=1+1", "=1+1"] and len(stored) == len(FORMULAS)
    safe = _column(formulas(*args, ok=True).stdout, column)
    assert sorted(safe) == sorted("'" + f for f in stored)
    raw = _column(formulas(*args, "--raw", ok=True).stdout, column)
    assert sorted(raw) == stored


def test_an_import_rejects_file_neutralises_formulas_too(run, tmp_path):
    data = tmp_path / "customers.csv"
    with open(data, "w", newline="") as stream:
        writer = csv.writer(stream)
        header = ["external_id", "name", "email", "phone", "tags", "notes", "created_at", "lost_at", "lost_reason"]
        writer.writerow(header)
        for i, name in enumerate(FORMULAS):
            writer.writerow([f"X{i}", name, f"c{i}@example.com", "", "", "", "not a time", "", ""])
    run("import", "customers", str(data), "--preset", "carecli", "--skip-bad")
    rejects = open(f"{data}.rejects.csv", newline="").read()
    assert sorted(_column(rejects, "name")) == sorted("'" + f for f in FORMULAS)
