"""The one TOML reader: the standard tomllib, or tomli on Python 3.10 (the same parser)."""

from __future__ import annotations

import sys

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

TomlError = tomllib.TOMLDecodeError


def parse(text: str) -> dict:
    """TOML text -> a dict; invalid TOML raises TomlError, whose message names the line."""
    return tomllib.loads(text)
