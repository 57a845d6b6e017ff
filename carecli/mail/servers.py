"""What talking to a mail server (IMAP in, SMTP out) has in common: the password from a command,
plain text only on this machine, and TLS failures told apart from an unreachable server."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

from carecli.core.errors import ConfigError, ServerUnavailable

LOOPBACK = ("127.0.0.1", "::1", "localhost")
PASSWORD_CMD_TIMEOUT_S = 120


def refuse_plain_text_off_this_machine(section: str, host: str, tls: str) -> None:
    if tls == "none" and host.lower().strip("[]") not in LOOPBACK:
        raise ConfigError(
            f"'{section}.tls' is none, but the host {host} is not this machine",
            'use tls = "tls" or "starttls"; none (no encryption) is only for 127.0.0.1, ::1 or localhost',
        )


def password(key: str, command: str) -> str:
    """The first line the command prints (it may ask, e.g. gpg's pinentry, on the terminal)."""
    if not command.strip():
        raise ConfigError(f"'{key}' is not set", f'e.g. {key.rsplit(".", 1)[-1]} = "pass show shop/mail"')
    try:
        done = subprocess.run(command, shell=True, capture_output=True, timeout=PASSWORD_CMD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise ConfigError(f"'{key}' ({command}) did not finish in {PASSWORD_CMD_TIMEOUT_S} s") from None
    said = done.stderr.decode(errors="replace").strip().splitlines()
    if done.returncode != 0:
        why = f": {said[-1]}" if said else ""
        raise ConfigError(f"'{key}' ({command}) failed with exit {done.returncode}{why}")
    lines = done.stdout.decode("utf-8", errors="replace").splitlines()
    if not lines or not lines[0]:
        raise ConfigError(f"'{key}' ({command}) printed no password")
    return lines[0]


@contextmanager
def connection_errors(what: str, section: str, host: str, port: int, tls: str) -> Iterator[None]:
    """Errors of connecting as carecli's: what trying again can mend (unreachable, dropped) is
    ServerUnavailable (exit 75, cron retries); what it cannot (an untrusted certificate, TLS spoken
    to a plain port) is a ConfigError (exit 1) naming what to change."""
    try:
        yield
    except ssl.SSLCertVerificationError as exc:
        raise ConfigError(
            f"the {what} server {host}:{port} has a certificate this machine does not trust ({exc.verify_message})",
            "install the CA that signed it in the system's certificates, or set SSL_CERT_FILE to it",
        ) from None
    except (ssl.SSLEOFError, ssl.SSLZeroReturnError) as exc:
        raise ServerUnavailable(
            f"the {what} server {host}:{port} dropped the connection during TLS: {exc}", "try again later"
        ) from None
    except ssl.SSLError as exc:
        raise ConfigError(
            f"TLS with the {what} server {host}:{port} failed ({exc.reason or exc})",
            f"check '{section}.tls' ({tls}) and '{section}.port'",
        ) from None
    except OSError as exc:
        raise ServerUnavailable(f"cannot reach the {what} server {host}:{port}: {exc}", "try again later") from None
