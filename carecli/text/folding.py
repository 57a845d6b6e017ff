"""Names as people type them: case and accents folded, so "cafe nova" is "Café Nova"."""

from __future__ import annotations

import unicodedata


def fold(text: str | None) -> str:
    """`text` casefolded, with its combining marks (accents) removed."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))
