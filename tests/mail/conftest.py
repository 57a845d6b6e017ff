"""The CLI with the shop's own address configured, for every mail test."""

from __future__ import annotations

import pytest

SHOP = "help@shop.example"


@pytest.fixture
def mailrun(run, isolated):
    config = isolated / "config.toml"
    config.write_text(f'[mail]\naddresses = ["{SHOP}"]\n')

    def ingest(raw: bytes, *args: str, ok: bool | None = True):
        return run("--config", str(config), "mail", "ingest", "-", *args, input=raw, ok=ok)

    ingest.run = lambda *args, **kw: run("--config", str(config), *args, **kw)  # type: ignore[attr-defined]
    ingest.config = config  # type: ignore[attr-defined]
    return ingest
