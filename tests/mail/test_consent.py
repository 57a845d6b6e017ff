"""Consent: outreach carries a way out (List-Unsubscribe, a footer line); the unsubscribe mail,
through intake, opts the customer out; an opted-out customer gets no outreach, replies still go."""

from __future__ import annotations

import email
import json
import sqlite3
from datetime import datetime, timezone
from email import policy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carecli.core import config, store
from carecli.core.errors import Conflict
from carecli.mail import compose
from tests.mail.test_intake import SHOP, message, rows

AT = datetime(2026, 3, 14, 10, tzinfo=timezone.utc)


def settings():
    loaded = config.load(None)
    loaded.values["mail.addresses"] = [SHOP]
    return loaded


def outreach(db_path, customer_id=1) -> compose.Composed:
    conn = store.open_connection(db_path)
    try:
        with store.transaction(conn):
            return compose.compose_outreach(
                conn, settings(), customer_id=customer_id, subject="How are the roses?", body="Hello!", at=AT
            )
    finally:
        conn.close()


def shown(mailrun, ref="ada"):
    return json.loads(mailrun.run("customer", "show", ref, "--format", "json", ok=True).stdout)


@pytest.fixture
def ada(mailrun):
    mailrun(message(message_id="m1@example.com"))


def test_outreach_carries_list_unsubscribe_and_the_unsubscribe_mail_opts_out(mailrun, ada, db_path):
    made = outreach(db_path)
    mail = email.message_from_string(made.raw, policy=policy.default)
    token = rows(db_path, "SELECT token FROM consent WHERE customer_id = 1")[0][0]
    assert mail["List-Unsubscribe"].strip() == f"<mailto:{SHOP}?subject=unsubscribe%20{token}>"
    assert f"reply with the subject: unsubscribe {token}" in mail.get_content()
    assert mail["Auto-Submitted"] == "auto-generated"
    assert outreach(db_path).raw != made.raw and rows(db_path, "SELECT count(*) FROM consent") == [(1,)]

    # What the customer's mail client sends for one click on "unsubscribe" (from any address).
    result = mailrun(message("Ada at work <ada@work.example>", f"unsubscribe {token}", message_id="u1@example.com"))
    assert "unsubscribe: opted out of care mail" in result.stderr
    assert shown(mailrun)["opted_out_at"] == "2026-03-13T09:00:00+00:00"
    assert rows(db_path, "SELECT count(*) FROM tickets") == [(1,)]  # not a contact, no ticket
    with pytest.raises(Conflict, match="Ada Lovelace opted out of care mail"):
        outreach(db_path)
    # A reply to her still goes: consent is about mail nobody asked for.
    mailrun.run("ticket", "reply", "1", "Sorry to hear that.", "--send", ok=True)


def test_a_wrong_token_is_an_ordinary_message(mailrun, ada, db_path):
    outreach(db_path)
    mailrun(message(subject="unsubscribe AAAAAAAAAAAAAAAA", message_id="u2@example.com"))
    assert shown(mailrun)["opted_out_at"] is None
    assert rows(db_path, "SELECT status FROM mail_messages WHERE message_id = 'u2@example.com'") == [("filed",)]


def test_opt_out_and_in_by_hand_are_one_line_and_undoable(mailrun, ada, db_path):
    out = mailrun.run("customer", "opt-out", "ada", ok=True)
    assert out.stderr.strip() == "Ada Lovelace gets no more care mail"
    assert "already" in mailrun.run("customer", "opt-out", "ada", ok=True).stderr
    with pytest.raises(Conflict):
        outreach(db_path)
    mailrun.run("undo", "--yes", ok=True)  # the second opt-out changed nothing: this undoes the first
    assert shown(mailrun)["opted_out_at"] is None
    mailrun.run("customer", "opt-out", "ada", ok=True)
    mailrun.run("customer", "opt-in", "ada", ok=True)
    assert shown(mailrun)["opted_out_at"] is None
    again = mailrun.run("customer", "opt-in", "ada")
    assert again.exit_code == 1 and "has not opted out" in again.stderr
    kinds = rows(db_path, "SELECT kind FROM events WHERE kind LIKE 'opted-%' AND voided_by IS NULL ORDER BY id")
    assert kinds == [("opted-out",), ("opted-in",)]


def test_a_merge_keeps_an_opt_out_of_either_customer(mailrun, ada, db_path):
    mailrun.run("customer", "add", "Ada L.", "--email", "ada@work.example", ok=True)
    mailrun.run("customer", "opt-out", "ada@work.example", ok=True)
    mailrun.run("customer", "merge", "ada@work.example", "--into", "ada@example.com", ok=True)
    assert shown(mailrun, "ada@example.com")["opted_out_at"] is not None
    assert rows(db_path, "SELECT count(*) FROM consent") == [(1,)]


def test_a_customer_with_consent_and_mail_goes_to_the_trash_and_back(mailrun, smtp, ada, db_path):
    outreach(db_path)
    mailrun.run("ticket", "reply", "1", "On its way.", "--send", ok=True)
    mailrun.run("customer", "delete", "ada", "--reason", "mistake", "--yes", ok=True)
    assert rows(db_path, "SELECT count(*) FROM consent") == [(0,)] and rows(db_path, "SELECT count(*) FROM outbox") == [
        (0,)
    ]
    mailrun.run("customer", "restore", "1", ok=True)
    assert rows(db_path, "SELECT count(*) FROM consent") == [(1,)] and rows(db_path, "SELECT count(*) FROM outbox") == [
        (1,)
    ]
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    conn.close()


@given(token_bytes=st.binary(min_size=12, max_size=12), prefix=st.sampled_from(["", "Re: ", "RE:  "]))
def test_every_token_carecli_makes_is_found_in_the_unsubscribe_subject(token_bytes, prefix):
    # A token may end with '-' (base64url): the subject's end must still count as its end.
    import base64

    from carecli.records import consent

    token = base64.urlsafe_b64encode(token_bytes).decode().rstrip("=")
    assert consent.token_in(f"{prefix}unsubscribe {token}") == token
    assert consent.token_in(f"unsubscribe {token}x") is None
