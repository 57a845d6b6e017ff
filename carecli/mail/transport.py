"""Handing a message to the world: SMTP over one connection for a whole `outbox send`, or a
sendmail-like command (msmtp and the like, which handle OAuth). smtplib comes with Python and does
all SMTP needs here; it is imported only when mail is sent.

Each send ends one of four ways: accepted (the server's answer is returned); `Refused` for good
(a 5xx answer, or a command's failure); `Deferred` (a 4xx answer, exit 75: try later); or
`Unknown`, when the connection broke after the whole message was handed over and before the
server answered: the message may have been taken, so it must not be sent again unasked."""

from __future__ import annotations

import re
import ssl
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from carecli.core.config import Settings
from carecli.core.errors import ConfigError, ServerUnavailable
from carecli.mail import servers

if TYPE_CHECKING:
    import smtplib

TIMEOUT_S = 60
COMMAND_TIMEOUT_S = 300
EX_TEMPFAIL = 75


class Refused(Exception):
    """The server or command refused this message for good."""


class Deferred(Exception):
    """Refused for now (4xx): try again later."""


class Unknown(Exception):
    """Handed over in full, then no answer: it may or may not have been taken."""


class Transport(Protocol):
    name: str

    def send(self, sender: str, recipient: str, raw: bytes) -> str: ...

    def close(self) -> None: ...


@dataclass
class SMTPSettings:
    host: str
    port: int
    user: str
    password_cmd: str
    tls: str


def smtp_settings(settings: Settings) -> SMTPSettings:
    host, tls = settings["mail.smtp.host"].strip(), settings["mail.smtp.tls"]
    if not host:
        raise ConfigError(
            "'mail.smtp.host' is not set",
            "set [mail.smtp] host (and user, password_cmd), or [mail] sendmail_cmd, in the config",
        )
    servers.refuse_plain_text_off_this_machine("mail.smtp", host, tls)
    port = settings["mail.smtp.port"] or {"tls": 465, "starttls": 587}.get(tls, 25)
    return SMTPSettings(host, port, settings["mail.smtp.user"], settings["mail.smtp.password_cmd"], tls)


def open_transport(settings: Settings) -> Transport:
    command = settings["mail.sendmail_cmd"].strip()
    if command:
        return CommandTransport(command)
    return SMTPTransport.connect(smtp_settings(settings))


class SMTPTransport:
    def __init__(self, client: smtplib.SMTP, where: SMTPSettings) -> None:
        self.client, self.where = client, where
        self.name = f"{where.host}:{where.port}"

    @classmethod
    def connect(cls, where: SMTPSettings) -> SMTPTransport:
        import smtplib

        secret = servers.password("mail.smtp.password_cmd", where.password_cmd) if where.user else ""
        try:
            with servers.connection_errors("SMTP", "mail.smtp", where.host, where.port, where.tls):
                if where.tls == "tls":
                    client: smtplib.SMTP = smtplib.SMTP_SSL(
                        where.host, where.port, timeout=TIMEOUT_S, context=ssl.create_default_context()
                    )
                else:
                    client = smtplib.SMTP(where.host, where.port, timeout=TIMEOUT_S)
                    if where.tls == "starttls":
                        client.starttls(context=ssl.create_default_context())
                client.ehlo_or_helo_if_needed()
        except smtplib.SMTPException as exc:
            raise ServerUnavailable(
                f"the SMTP server {where.host}:{where.port} refused to talk: {exc}", "try again later"
            ) from None
        if where.user:
            try:
                client.login(where.user, secret)
            except smtplib.SMTPAuthenticationError as exc:
                client.close()
                raise ConfigError(
                    f"the SMTP server refused the login of {where.user}: {_answer(exc.smtp_code, exc.smtp_error)}",
                    "check 'mail.smtp.user' and what 'mail.smtp.password_cmd' prints",
                ) from None
            except (smtplib.SMTPException, OSError) as exc:
                client.close()
                raise ServerUnavailable(f"the SMTP server dropped the login: {exc}", "try again later") from None
        return cls(client, where)

    def send(self, sender: str, recipient: str, raw: bytes) -> str:
        """MAIL, RCPT and DATA by hand (smtplib's sendmail hides where a connection broke): a break
        before the final dot is sent leaves nothing taken; after it, the fate is unknown."""
        import smtplib

        client = self.client
        try:
            for command, argument in (("mail", sender), ("rcpt", recipient)):
                code, text = getattr(client, command)(argument)
                if code >= 300:
                    client.rset()
                    _refuse(code, text)
            code, text = client.docmd("DATA")
            if code != 354:
                client.rset()
                _refuse(code, text)
            client.send(_dot_stuffed(raw))
        except smtplib.SMTPServerDisconnected as exc:
            raise ServerUnavailable(
                f"the SMTP server {self.name} dropped the connection: {exc}", "try again later"
            ) from None
        except OSError as exc:
            raise ServerUnavailable(f"the SMTP server {self.name} is unreachable: {exc}", "try again later") from None
        try:
            code, text = client.getreply()
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            raise Unknown(
                f"the connection to {self.name} broke before the server answered the message: {exc}"
            ) from None
        if code >= 300:
            _refuse(code, text)
        return _answer(code, text)

    def close(self) -> None:
        import smtplib

        try:
            self.client.quit()
        except (smtplib.SMTPException, OSError):
            self.client.close()


class CommandTransport:
    def __init__(self, command: str) -> None:
        self.command = command
        self.name = command

    def send(self, sender: str, recipient: str, raw: bytes) -> str:
        try:
            done = subprocess.run(self.command, shell=True, input=raw, capture_output=True, timeout=COMMAND_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise Unknown(f"'mail.sendmail_cmd' ({self.command}) did not finish in {COMMAND_TIMEOUT_S} s") from None
        said = done.stderr.decode("utf-8", errors="replace").strip().splitlines()
        why = f": {said[-1]}" if said else ""
        if done.returncode == EX_TEMPFAIL:
            raise Deferred(f"'mail.sendmail_cmd' exited 75 (try later){why}")
        if done.returncode != 0:
            raise Refused(f"'mail.sendmail_cmd' ({self.command}) failed with exit {done.returncode}{why}")
        return f"taken by {self.command}"

    def close(self) -> None:
        pass


def _dot_stuffed(raw: bytes) -> bytes:
    """The message as DATA carries it (RFC 5321 4.5.2): lines starting with a dot get another."""
    data = re.sub(rb"(?m)^\.", b"..", raw)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def _answer(code: int, text: bytes | str) -> str:
    said = text.decode("utf-8", errors="replace") if isinstance(text, bytes) else text
    return f"{code} {' '.join(said.split())}"


def _refuse(code: int, text: bytes) -> None:
    if 400 <= code < 500:
        raise Deferred(_answer(code, text))
    raise Refused(_answer(code, text))
