"""Mapping files: which source column holds each carecli field, and how source values translate.

A mapping is TOML (see docs/import-mapping.md): a preset shipped in carecli/data/presets, with the
user's file laid over it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from carecli.core.errors import InvalidInput

ENTITIES = ("customers", "tickets", "interactions", "orders")
PRESET_DIR = Path(__file__).parent.parent / "presets"


FIELDS: dict[str, tuple[str, ...]] = {
    "customers": ("external_id", "name", "email", "phone", "tags", "notes", "created_at", "lost_at", "lost_reason"),
    "tickets": (
        "external_id",
        "customer_name",
        "customer_email",
        "subject",
        "channel",
        "category",
        "priority",
        "status",
        "tags",
        "created_at",
        "first_response_at",
        "first_response_minutes",
        "first_closed_at",
        "closed_at",
        "resolution_minutes",
        "updated_at",
        "replies",
        "reopens",
        "csat",
        "ces",
        "resolution",
        "message",
    ),
    "interactions": (
        "customer_name",
        "customer_email",
        "ticket_external_id",
        "ticket_id",
        "direction",
        "channel",
        "body",
        "at",
    ),
    # One record per line item; the order-level fields may be given on the order's first row only.
    "orders": (
        "ref",
        "customer_email",
        "customer_name",
        "customer_first_name",
        "customer_last_name",
        "ordered_at",
        "status",
        "cancelled_at",
        "total",
        "currency",
        "product",
        "qty",
        "price",
        "amount",
    ),
}


@dataclass
class Mapping:
    columns: dict[str, list[str]]  # field -> source headers, first non-empty wins
    values: dict[str, dict[str, str]]  # field -> lower-cased source value -> ours
    timezone: str | None = None
    time_format: str | None = None
    source: str = ""

    @property
    def preset(self) -> str | None:
        """The preset the mapping starts from (`shopify` of "preset shopify + my.toml"), if any."""
        first = self.source.split(" + ")[0]
        return first.removeprefix("preset ") if first.startswith("preset ") else None


def preset_names(entity: str | None = None) -> list[str]:
    names = sorted(
        {
            p.name.split(".")[0]
            for p in PRESET_DIR.glob("*.toml")
            if entity is None or p.name.endswith(f".{entity}.toml")
        }
    )
    return names


def load_mapping(
    entity: str, *, path: str | None = None, preset: str | None = None, header: list[str] | None = None
) -> Mapping:
    """The preset (if any) with the mapping file laid over it, checked against the entity's fields.

    With neither, a file whose headers are all carecli's own field names (`name,email,...`) maps
    itself; any other is refused, naming the headers that need a mapping."""
    if entity not in ENTITIES:
        raise InvalidInput(f"cannot import '{entity}'", f"import one of: {', '.join(ENTITIES)}")
    if path is None and preset is None:
        return _own_fields(entity, header or [])
    merged: dict = {}
    sources = []
    if preset is not None:
        preset_file = PRESET_DIR / f"{preset}.{entity}.toml"
        if not preset_file.exists():
            raise InvalidInput(
                f"no preset '{preset}' for {entity}",
                f"presets for {entity}: {', '.join(preset_names(entity)) or 'none'}",
            )
        merged = _read_toml(preset_file)
        sources.append(f"preset {preset}")
    if path is not None:
        _merge(merged, _read_toml(Path(path)))
        sources.append(str(path))
    return _check_mapping(entity, merged, " + ".join(sources))


def _own_fields(entity: str, header: list[str]) -> Mapping:
    named = [name for name in header if name]
    strangers = [name for name in named if name not in FIELDS[entity]]
    if not named or strangers:
        shown = ", ".join(strangers[:5]) + (", ..." if len(strangers) > 5 else "")
        raise InvalidInput(
            "no mapping given"
            + (
                f" and {shown} {'is not a' if len(strangers) == 1 else 'are not'} {entity} field"
                f"{'' if len(strangers) == 1 else 's'}"
                if strangers
                else ""
            ),
            f"name the columns {', '.join(FIELDS[entity][:6])}, ..., or pass --map MAPPING.toml "
            f"(see docs/import-mapping.md) or --preset ({', '.join(preset_names(entity))})",
        )
    return _check_mapping(entity, {"columns": {name: name for name in named}}, "the file's own field names")


def _read_toml(path: Path) -> dict:
    from carecli.core import tomlfile

    try:
        return tomlfile.parse(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput(f"mapping file {path} does not exist", "see docs/import-mapping.md for an example") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read mapping file {path}: {exc}") from None
    except tomlfile.TomlError as exc:
        raise InvalidInput(f"invalid TOML in mapping file {path}: {exc}") from None


def _merge(base: dict, over: dict) -> None:
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def _check_mapping(entity: str, data: dict, source: str) -> Mapping:
    """The mapping, or an error naming the section or key that is wrong and how to write it."""
    unknown_sections = set(data) - {"columns", "values", "time"}
    if unknown_sections:
        raise InvalidInput(
            f"{source}: unknown section [{sorted(unknown_sections)[0]}]", "use [columns], [values.FIELD] and [time]"
        )
    columns: dict[str, list[str]] = {}
    for name, headers in _table(data, "columns", source, 'subject = "Subject"').items():
        _known_field(entity, name, "[columns]", source)
        headers = [headers] if isinstance(headers, str) else headers
        if not isinstance(headers, list) or not headers or not all(isinstance(h, str) and h for h in headers):
            raise InvalidInput(
                f"{source}: [columns] {name} must be a column header or a list of them, not {headers!r}",
                f'write {name} = "Header" or {name} = ["Header A", "Header B"]',
            )
        columns[name] = headers
    values: dict[str, dict[str, str]] = {}
    for name, table in _table(data, "values", source, '"Solved" = "closed" under [values.status]').items():
        _known_field(entity, name, "[values]", source)
        if not isinstance(table, dict):
            raise InvalidInput(
                f"{source}: [values] {name} must be a table of translations, not {table!r}",
                f'write [values.{name}] and below it "source value" = "carecli value" lines',
            )
        for given, ours in table.items():
            if isinstance(ours, bool) or not isinstance(ours, (str, int, float)):
                raise InvalidInput(
                    f"{source}: [values.{name}] {given!r} must translate to a text, not {ours!r}",
                    f'write "{given}" = "carecli value" (or "" for no value)',
                )
        values[name] = {str(k).strip().lower(): str(v) for k, v in table.items()}
    time_section = _table(data, "time", source, 'timezone = "Europe/Berlin"')
    unknown_time = set(time_section) - {"timezone", "format"}
    if unknown_time:
        raise InvalidInput(f"{source}: unknown key '{sorted(unknown_time)[0]}' in [time]", "use timezone and format")
    zone, time_format = time_section.get("timezone"), time_section.get("format")
    if zone is not None:
        _check_zone(zone, source)
    if time_format is not None and not (isinstance(time_format, str) and time_format):
        raise InvalidInput(
            f"{source}: [time] format must be a strptime format text, not {time_format!r}",
            'write e.g. format = "%d/%m/%Y %H:%M", or leave it out to read ISO-like times',
        )
    return Mapping(columns, values, zone, time_format, source)


def _table(data: dict, section: str, source: str, example: str) -> dict:
    value = data.get(section)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(
            f"{source}: '{section}' must be a section, not {value!r}",
            f"write [{section}] on a line of its own, then lines like {example}",
        )
    return value


def _known_field(entity: str, name: str, where: str, source: str) -> None:
    known = FIELDS[entity]
    if name not in known:
        import difflib

        close = difflib.get_close_matches(name.lower(), known, n=1)
        raise InvalidInput(
            f"{source}: {where} has unknown field '{name}'",
            (f"did you mean {close[0]}? " if close else "") + f"{entity} fields: {', '.join(known)}",
        )


def _check_zone(zone: object, source: str) -> None:
    from carecli.text.clock import get_zone
    from carecli.text.vocabulary import TimeParseError

    fix = 'write an IANA name, e.g. timezone = "Europe/Berlin", or leave it out for the configured zone'
    if not isinstance(zone, str) or not zone:
        raise InvalidInput(f"{source}: [time] timezone must be a time zone name, not {zone!r}", fix)
    try:
        get_zone(zone)
    except TimeParseError as exc:
        raise InvalidInput(f"{source}: [time] timezone: {exc}", "or leave it out for the configured zone") from None
