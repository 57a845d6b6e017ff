"""The demo shop's own config file: its two care plans (watering tips a week after an orchid is
sold; the monthly plant-care subscription, whose office plants are an asset serviced monthly).
`carecli demo` writes it beside the demo database, and the tour and the commands it suggests read
it with --config, so `plan list`, `care plans` and the follow-ups they scheduled show the loop.
"""

from __future__ import annotations

from pathlib import Path

from carecli.core.errors import InvalidInput
from carecli.core.files import write_private_bytes

ORCHID_TIPS = "orchid-tips"
PLANT_CARE = "plant-care"
MARK = "# carecli demo config"  # the first line: a file without it is someone's own, never replaced

TEXT = f"""{MARK}: written by `carecli demo`, replaced by the next demo built here.
# Read with --config PATH (or CARECLI_CONFIG) beside the demo's --db. Every key: config.example.toml.

[shop]
name = "Fleur & Fern"

[[care.plans]]
name = "{ORCHID_TIPS}"
products = ["orchid*"]
[[care.plans.steps]]
after = "7d"
kind = "tip"
note = "Water your orchid once a week: a glass of water, and never leave it standing in it"

[[care.plans]]
name = "{PLANT_CARE}"
products = ["plant-care subscription*"]
asset = true
[[care.plans.steps]]
every = "monthly"
kind = "service-reminder"
note = "Monthly visit: water, prune and feed the office plants"
"""


def config_path(db_path: Path) -> Path:
    """Where the demo's config lives: beside its database, `demo.db` -> `demo.toml` (a database
    named `x.toml` gets `x.toml.config.toml`)."""
    beside = db_path.with_suffix(".toml")
    return beside if beside != db_path else db_path.with_name(f"{db_path.name}.config.toml")


def check_free(path: Path) -> None:
    """Refuse to overwrite a file that is not a demo config (someone's own settings)."""
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            first = handle.readline()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}", "choose another --db for the demo") from None
    if not first.startswith(MARK):
        raise InvalidInput(
            f"{path} exists and is not a demo config; the demo writes its settings there",
            "move that file, or give the demo another --db",
        )


def write(path: Path) -> None:
    """Write the demo config (mode 0600, atomically); check_free first."""
    write_private_bytes(path, TEXT.encode("utf-8"))
