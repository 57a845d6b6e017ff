"""The column registry (carecli/schema/tables.py) is the one list of names every output uses."""

from __future__ import annotations

import subprocess
import sys

from carecli.data import exporting, importing
from carecli.schema.tables import TABLES

# Import-only inputs: converted on the way in (minutes -> seconds, a first message), never output.
IMPORT_ONLY = {"first_response_minutes", "resolution_minutes", "message"}


def test_every_export_column_is_in_the_registry_in_its_kind():
    for name, spec in exporting.SPECS.items():
        registry = TABLES[name]
        for field in spec.fields:
            assert field.key in registry, f"export {name}: {field.key} is not in schema/tables.py"
            kind = registry[field.key].kind
            assert field.kind == kind or (field.kind == "int" and kind in ("duration", "bool")), (name, field.key)


# An order import row is one line item: the order's fields, its line's, and inputs read on the way
# in (a cancelled or refunded order is left out; a name in two parts; a unit price times the quantity).
ORDER_IMPORT_ONLY = {"cancelled_at", "status", "customer_first_name", "customer_last_name", "price"}


def test_the_importers_field_names_are_registry_keys():
    for name, fields in importing.FIELDS.items():
        known = set(TABLES[name]) | (set(TABLES["order_lines"]) | ORDER_IMPORT_ONLY if name == "orders" else set())
        unknown = set(fields) - known - IMPORT_ONLY
        assert not unknown, f"import {name}: {sorted(unknown)} not in schema/tables.py"


def test_the_listings_take_their_columns_from_the_registry():
    from carecli.cli import customers, followups, surveys, tickets

    for table, columns in [
        ("tickets", tickets.TICKET_COLUMNS),
        ("customers", customers.LIST_COLUMNS),
        ("followups", followups.FOLLOWUP_COLUMNS),
        ("surveys", surveys.SURVEY_COLUMNS),
    ]:
        for column in columns:
            col = TABLES[table][column.key]
            assert (column.title, column.source) == (col.title, col.name), (table, column.key)


def test_the_registry_is_cheap_to_import():
    code = "import sys, carecli.schema.tables; print(sorted(m for m in ('rich', 'sqlite_utils', 'dateutil', 'typer') if m in sys.modules))"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
    )
