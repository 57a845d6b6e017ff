"""Messages carecli sends are RFC 5322 clean whatever the stored text holds: CRLF only, no line
over 998 bytes, 7-bit, and no header a customer's text could add."""

from __future__ import annotations

import email
from datetime import datetime, timezone
from email import policy

from hypothesis import given, settings
from hypothesis import strategies as st

from carecli.core import config
from carecli.mail import compose

AT = datetime(2026, 3, 14, 10, tzinfo=timezone.utc)


def shop_settings():
    loaded = config.load(None)
    loaded.values["mail.addresses"] = ["help@shop.example"]
    return loaded


SETTINGS = shop_settings()


def test_a_reply_subject_carries_one_token_and_one_re():
    assert compose.reply_subject(4, "Invoice for order 1042") == "Re: Invoice for order 1042 [#4]"
    assert compose.reply_subject(4, "Re: Invoice [#4]") == "Re: Invoice [#4]"
    assert compose.reply_subject(4, "RE:Invoice [#9]") == "RE:Invoice [#4]"


def test_non_ascii_text_is_encoded_and_reads_back_the_same():
    made = compose.compose(SETTINGS, to="zoë@example.com", subject="Grüße, Zoë 🌷", body="Danke schön!\n" * 3, at=AT)
    assert made.raw.isascii()
    mail = email.message_from_string(made.raw, policy=policy.default)
    assert mail["Subject"] == "Grüße, Zoë 🌷"
    assert mail.get_content().replace("\r\n", "\n") == "Danke schön!\n" * 3


@settings(max_examples=150, deadline=None)
@given(
    subject=st.text(max_size=300),
    body=st.text(max_size=3000),
    thread=st.lists(st.from_regex(r"[a-z0-9.]{1,30}@[a-z]{1,10}\.example", fullmatch=True), max_size=30),
)
def test_any_stored_text_gives_a_clean_message_with_only_our_headers(subject, body, thread):
    made = compose.compose(SETTINGS, to="ada@example.com", subject=subject, body=body, at=AT, thread=thread)
    raw = made.raw.encode("ascii")
    lines = raw.split(b"\r\n")
    assert b"\n" not in raw.replace(b"\r\n", b"") and b"\r" not in raw.replace(b"\r\n", b"")
    assert all(len(line) <= 998 for line in lines)
    mail = email.message_from_bytes(raw, policy=policy.default)
    expected = {"From", "To", "Subject", "Date", "Message-ID", "Auto-Submitted", "MIME-Version"}
    expected |= {"Content-Type", "Content-Transfer-Encoding"}
    if thread:
        expected |= {"In-Reply-To", "References"}
    assert set(mail.keys()) == expected
    assert mail["Subject"] == " ".join("".join(" " if ord(c) < 32 or ord(c) == 127 else c for c in subject).split())
    assert len(mail.get_all("References") or []) <= 1
    if thread:
        assert mail["In-Reply-To"] == f"<{thread[-1]}>"
        assert len(mail["References"].split()) == min(len(thread), compose.REFERENCES_KEPT)
