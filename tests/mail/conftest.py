"""One real Dovecot per test session (tests/fixtures/dovecot.py); each test gets its own account."""

from __future__ import annotations

import pytest

from tests.fixtures import dovecot


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
