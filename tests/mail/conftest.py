"""Fixtures for every mail test: the CLI with the shop's own address configured, and one real
Dovecot per test session (tests/fixtures/dovecot.py) where each test gets its own account."""

from __future__ import annotations

import pytest

from tests.fixtures import dovecot

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


@pytest.fixture(scope="session")
def dovecot_server():
    if not dovecot.available():
        pytest.skip("dovecot is not installed (apt-get install dovecot-imapd; .ci/run installs it)")
    server = dovecot.Dovecot().start()
    yield server
    server.stop()


@pytest.fixture
def imap_account(dovecot_server) -> dovecot.Account:
    return dovecot_server.account()


@pytest.fixture(scope="session")
def smtp_server():
    from tests.fixtures.smtpd import SMTPServer

    server = SMTPServer().start()
    yield server
    server.stop()


@pytest.fixture
def smtp(mailrun, smtp_server):
    """The mail CLI (mailrun) configured to send through the test SMTP server, emptied for each test."""
    smtp_server.reset()
    mailrun.config.write_text(
        f'[mail]\naddresses = ["{SHOP}"]\nretry_after = "10m"\n'
        f'[mail.smtp]\nhost = "127.0.0.1"\nport = {smtp_server.port}\ntls = "none"\n'
    )
    return smtp_server
