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
        (("customer", "health", "--format", "csv"), "customer_name"),
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


def test_search_csv_neutralises_matches_and_names_unless_raw(formulas):
    safe = list(csv.DictReader(io.StringIO(formulas("search", "HYPERLINK", "--format", "csv", ok=True).stdout)))
    assert {(r["customer_name"], r["snippet"]) for r in safe} >= {("'" + FORMULAS[0], "'" + FORMULAS[0])}
    raw = list(csv.DictReader(io.StringIO(formulas("search", "HYPERLINK", "--format", "csv", "--raw").stdout)))
    assert {(r["customer_name"], r["snippet"]) for r in raw} >= {(FORMULAS[0], FORMULAS[0])}


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


@pytest.mark.parametrize("raw", [False, True], ids=["neutralised", "raw"])
@pytest.mark.parametrize("entity, column", [("customers", "name"), ("tickets", "subject")])
def test_a_carecli_export_reimported_with_the_carecli_preset_gives_the_stored_text_back(
    formulas, tmp_path, entity, column, raw
):
    formulas("customer", "add", "--email", "q@example.com", "--", "'quoted", ok=True)
    formulas("ticket", "open", "q@example.com", "--", "'=already quoted", ok=True)
    key = "name" if entity == "customers" else "subject"
    stored = sorted(r[key] for r in formulas.json("customer" if entity == "customers" else "ticket", "list"))
    exported = tmp_path / f"{entity}.csv"
    formulas("export", entity, "--output", str(exported), *(["--raw"] if raw else []), ok=True)
    other = str(tmp_path / "other.db")
    formulas("--db", other, "import", entity, str(exported), "--preset", "carecli", ok=True)
    listing = ("customer", "list") if entity == "customers" else ("ticket", "list")
    back = sorted(r[key] for r in formulas.json("--db", other, *listing))
    # A raw export is the stored text: only text stored as ' before = + - @ reads back without that '.
    assert back == (sorted(s[1:] if s.startswith("'=") else s for s in stored) if raw else stored)
