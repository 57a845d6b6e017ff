"""`mail fetch` against a real Dovecot: filing, incremental runs, a UIDVALIDITY change, a dropped
connection, read-only access, and the one-line errors of the [mail.imap] settings."""

from __future__ import annotations

import imaplib
import json

import pytest

from carecli.core.errors import EXIT_TEMPFAIL
from tests.mail.test_intake import SHOP, message, rows
from tests.mail.test_parse import DATASET


@pytest.fixture
def fetch(run, isolated, imap_account):
    config = isolated / "config.toml"

    def write(**imap):
        settings = {
            "host": "127.0.0.1",
            "port": imap_account.server.port,
            "user": imap_account.user,
            "password_cmd": f"echo {imap_account.password}",
            "tls": "none",
            **imap,
        }
        lines = [f'[mail]\naddresses = ["{SHOP}"]\n[mail.imap]']
        lines += [
            f"{key} = {value!r}" if isinstance(value, int) else f'{key} = "{value}"' for key, value in settings.items()
        ]
        config.write_text("\n".join(lines) + "\n")

    write()

    def go(*args, ok=True):
        return run("--config", str(config), "mail", "fetch", *args, ok=ok)

    go.write = write  # type: ignore[attr-defined]
    go.run = lambda *args, **kw: run("--config", str(config), *args, **kw)  # type: ignore[attr-defined]
    return go


def tickets(fetch):
    return fetch.run("ticket", "list", "--format", "json", ok=True).stdout


def test_fetch_files_inbox_messages_as_tickets_and_sent_mail_as_our_replies(fetch, imap_account, db_path):
    imap_account.append(message(message_id="a1@example.com"))
    imap_account.append(message("Ben <ben@example.com>", "Roses wilted", message_id="b1@example.com"))
    # Sent from a mail client with an address not in [mail] addresses: the Sent folder makes it ours.
    imap_account.append(
        message("Worker <worker@elsewhere.example>", "Re: Vase arrived cracked", to="ada@example.com",
                message_id="r1@shop.example", in_reply_to="a1@example.com", at="2026-03-13 10:00"),
        "Sent",
    )  # fmt: skip
    result = fetch()
    assert "3 messages fetched: 3 filed, 0 skipped, 0 quarantined, 0 seen before" in result.stderr
    listed = json.loads(tickets(fetch))
    assert sorted(t["subject"] for t in listed) == ["Roses wilted", "Vase arrived cracked"]
    log = json.loads(fetch.run("mail", "log", "--format", "json", ok=True).stdout)
    assert {(m["message_id"], m["direction"], m["status"]) for m in log} == {
        ("a1@example.com", "in", "filed"),
        ("b1@example.com", "in", "filed"),
        ("r1@shop.example", "out", "filed"),
    }
    assert rows(db_path, "SELECT direction FROM interactions ORDER BY id") == [("in",), ("in",), ("out",)]


def test_a_second_fetch_files_only_the_new_messages(fetch, imap_account, db_path):
    imap_account.append(message(message_id="a1@example.com"))
    fetch()
    imap_account.append(message("Ben <ben@example.com>", "Roses wilted", message_id="b1@example.com"))
    result = fetch()
    assert "1 messages fetched: 1 filed" in result.stderr
    assert "0 messages fetched" in fetch().stderr
    assert rows(db_path, "SELECT count(*) FROM mail_messages") == [(2,)]


def test_a_new_uidvalidity_reads_the_folder_again_and_files_nothing_twice(fetch, imap_account, db_path):
    imap_account.append(message(message_id="a1@example.com"))
    imap_account.append(message("Ben <ben@example.com>", "Roses wilted", message_id="b1@example.com"))
    fetch()
    imap_account.bump_uidvalidity()
    result = fetch()
    assert "UIDVALIDITY changed" in result.stderr
    assert "2 messages fetched: 0 filed, 0 skipped, 0 quarantined, 2 seen before" in result.stderr
    assert rows(db_path, "SELECT count(*) FROM mail_messages") == [(2,)]
    assert rows(db_path, "SELECT count(*) FROM interactions") == [(2,)]


def test_a_dropped_connection_exits_75_keeps_what_was_filed_and_the_next_run_completes(
    fetch, imap_account, db_path, monkeypatch
):
    from carecli.mail import imap

    for number in range(7):
        imap_account.append(message(f"C{number} <c{number}@example.com>", f"Order {number}", message_id=f"c{number}@x"))
    monkeypatch.setattr(imap, "BATCH", 3)
    real_uid = imaplib.IMAP4.uid
    fetches = []

    def drop_on_second_fetch(self, command, *args):
        if command == "FETCH":
            fetches.append(args)
            if len(fetches) == 2:
                self.sock.shutdown(2)  # the network goes away under the client
        return real_uid(self, command, *args)

    monkeypatch.setattr(imaplib.IMAP4, "uid", drop_on_second_fetch)
    result = fetch(ok=False)
    assert result.exit_code == EXIT_TEMPFAIL
    assert result.stderr.count("\n") == 1 and "dropped after 3 messages were filed" in result.stderr
    assert "Traceback" not in result.stderr
    assert rows(db_path, "SELECT count(*) FROM mail_messages") == [(3,)]
    assert rows(db_path, "SELECT last_uid FROM imap_state WHERE folder = 'INBOX'") == [(3,)]
    monkeypatch.setattr(imaplib.IMAP4, "uid", real_uid)
    assert "4 messages fetched: 4 filed" in fetch().stderr
    assert rows(db_path, "SELECT count(*), count(DISTINCT message_id) FROM mail_messages") == [(7, 7)]
    assert rows(db_path, "SELECT count(*) FROM tickets") == [(7,)]


def test_fetch_leaves_messages_unseen_and_unflagged(fetch, imap_account):
    imap_account.append(message(message_id="a1@example.com"))
    imap_account.append(message(message_id="s1@shop.example", sender=SHOP, to="ada@example.com"), "Sent")
    fetch()
    for folder in ("INBOX", "Sent"):
        for flags in imap_account.flags(folder):
            assert "\\Seen" not in flags and "\\Flagged" not in flags and "\\Deleted" not in flags


def test_dry_run_files_nothing_and_stores_no_state(fetch, imap_account, db_path):
    imap_account.append(message(message_id="a1@example.com"))
    result = fetch("--dry-run", "--format", "json")
    assert "1 would be filed" in result.stderr
    assert rows(db_path, "SELECT count(*) FROM mail_messages") == [(0,)]
    assert rows(db_path, "SELECT count(*) FROM imap_state") == [(0,)]
    assert "1 filed" in fetch().stderr


def test_real_world_messages_fetched_are_filed_as_ingest_files_them(fetch, imap_account, db_path):
    names = sorted(DATASET.glob("*.eml"))
    imap_account.append_many(path.read_bytes() for path in names)
    result = fetch("--folder", "INBOX")
    assert f"{len(names)} messages fetched" in result.stderr
    counted = rows(db_path, "SELECT count(*) FROM mail_messages")[0][0]
    assert 0 < counted <= len(names)  # a message repeated in the set is one message
    assert "Traceback" not in result.stderr


def test_a_wrong_password_is_one_line_exit_1(fetch):
    fetch.write(password_cmd="echo wrong")
    result = fetch(ok=False)
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "refused the login" in result.stderr


def test_a_failing_password_cmd_is_one_line_naming_the_key(fetch):
    fetch.write(password_cmd="echo no such entry >&2; exit 3")
    result = fetch(ok=False)
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert "'mail.imap.password_cmd'" in result.stderr and "exit 3: no such entry" in result.stderr


def test_tls_none_is_refused_for_a_host_not_on_this_machine(fetch, db_path):
    fetch.write(host="imap.example.com")
    result = fetch(ok=False)
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "'mail.imap.tls' is none" in result.stderr


def test_an_unreachable_server_exits_75(fetch):
    from tests.fixtures.dovecot import free_port

    fetch.write(port=free_port())
    result = fetch(ok=False)
    assert result.exit_code == EXIT_TEMPFAIL and "cannot reach the IMAP server" in result.stderr


@pytest.mark.parametrize("tls", ["tls", "starttls"])
def test_fetch_over_tls_and_starttls_files_the_mail(fetch, imap_account, db_path, monkeypatch, tls):
    monkeypatch.setenv("SSL_CERT_FILE", str(imap_account.server.certificate))
    port = imap_account.server.tls_port if tls == "tls" else imap_account.server.port
    fetch.write(tls=tls, port=port)
    imap_account.append(message(message_id="a1@example.com"))
    result = fetch()
    assert "1 filed" in result.stderr
    assert rows(db_path, "SELECT count(*) FROM tickets") == [(1,)]


@pytest.mark.parametrize("tls", ["tls", "starttls"])
def test_a_certificate_this_machine_does_not_trust_is_one_line_exit_1(fetch, imap_account, db_path, monkeypatch, tls):
    monkeypatch.setenv("SSL_CERT_FILE", "/nonexistent")
    monkeypatch.setenv("SSL_CERT_DIR", "/nonexistent")
    port = imap_account.server.tls_port if tls == "tls" else imap_account.server.port
    fetch.write(tls=tls, port=port)
    imap_account.append(message(message_id="a1@example.com"))
    result = fetch(ok=False)
    assert result.exit_code == 1
    assert "has a certificate this machine does not trust" in result.stderr
    assert "SSL_CERT_FILE" in result.stderr and "Traceback" not in result.stderr
    assert rows(db_path, "SELECT count(*) FROM tickets") == [(0,)]


def test_tls_against_the_plain_port_says_which_setting_to_check(fetch, imap_account, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(imap_account.server.certificate))
    fetch.write(tls="tls", port=imap_account.server.port)
    result = fetch(ok=False)
    assert result.exit_code == 1
    assert "TLS with the IMAP server" in result.stderr and "'mail.imap.tls' (tls)" in result.stderr
