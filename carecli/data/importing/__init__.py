"""Imports from spreadsheets and other helpdesks: CSV or JSONL rows mapped onto carecli's fields.

A mapping (TOML, see docs/import-mapping.md) names the source column of each field and translates
source values (`"Solved" = "closed"`). Rows stream through in batches into the records' batched
writers, all inside the caller's one transaction: either every row lands or none does. A big CSV
file of tickets is read and checked by a second process while this one writes (`worker`).
Imported tickets get the same stored fields and events the commands write, so every KPI works on
them.

    mapping       the mapping file and the fields of each entity
    reading       CSV / JSON Lines records with their line numbers
    values        cells -> typed values, RowError, how a rejected row is described
    bulk          the one transaction; indexes set aside and rebuilt for big loads
    importer      the driver: batches, duplicates, customers matched or created
    customers, tickets, interactions    what is particular to each entity
    worker        the second process that reads and checks a big file
"""

from carecli.data.importing.bulk import BulkLoad, bulk_tables, import_transaction, worth_bulk_loading
from carecli.data.importing.importer import ON_DUPLICATE, Importer, Report, write_rejects
from carecli.data.importing.mapping import ENTITIES, FIELDS, Mapping, load_mapping, preset_names
from carecli.data.importing.reading import SourceRow, guess_format, open_input, read_rows
from carecli.data.importing.tickets import BEFORE_OPENED, RESPONSE_AFTER_CLOSE
from carecli.data.importing.values import RowError, describe
from carecli.data.importing.worker import parse_aside

__all__ = [
    "BEFORE_OPENED",
    "ENTITIES",
    "FIELDS",
    "ON_DUPLICATE",
    "RESPONSE_AFTER_CLOSE",
    "BulkLoad",
    "Importer",
    "Mapping",
    "Report",
    "RowError",
    "SourceRow",
    "bulk_tables",
    "describe",
    "guess_format",
    "import_transaction",
    "load_mapping",
    "open_input",
    "parse_aside",
    "preset_names",
    "read_rows",
    "worth_bulk_loading",
    "write_rejects",
]
