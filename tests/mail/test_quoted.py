"""A reply's new part is what its ticket shows and search finds; the whole text stays in
mail_messages.full_text, shown by `mail text`."""

from __future__ import annotations

import json

import pytest

from carecli.mail.quoted import new_part
from tests.mail.test_intake import message, rows
from tests.mail.test_parse import DATASET


@pytest.mark.parametrize(
    "file",
    [
        "reply-gmail-web.eml",
        "reply-aol-webmail.eml",
        "reply-apple-mail-plain.eml",
        "reply-apple-mail-in-reply-to-references.eml",
        "reply-comcast-webmail.eml",
        "reply-hotmail-outlook-com.eml",
        "reply-outlook-original-message.eml",
        "reply-yahoo-in-reply-to-only.eml",
        "reply-thunderbird-plain.eml",  # bottom posted: the new part is below the quote
        "reply-android-gmail-base64.eml",  # the Russian quote header, wrapped over two lines
    ],
)
def test_real_replies_show_only_their_new_part_on_the_ticket(mailrun, db_path, file):
    mailrun((DATASET / file).read_bytes())
    (body,) = rows(db_path, "SELECT body FROM interactions WHERE direction = 'in'")[0]
    assert body == "Hello"
    (full,) = rows(db_path, "SELECT full_text FROM mail_messages")[0]
    assert full.startswith("Hello") or full.endswith("Hello")
    assert len(full) > len(body)


def test_the_iphone_signature_stays_and_the_quote_goes(mailrun, db_path):
    mailrun((DATASET / "reply-iphone-qp.eml").read_bytes())
    assert rows(db_path, "SELECT body FROM interactions")[0][0] == "Hello\n\nSent from my iPhone"


def test_ticket_show_and_search_see_the_new_part_and_mail_text_the_whole(mailrun, db_path):
    mailrun(
        message(
            message_id="m1@example.com",
            body="The replacement arrived, thank you.\n\nOn Mon, 9 Mar 2026 at 10:00, Shop <help@shop.example> wrote:\n"
            "> We are sending a replacement vase.\n> Kind regards",
        )
    )
    shown = mailrun.run("ticket", "show", "1", ok=True).stdout
    assert "The replacement arrived" in shown and "sending a replacement vase" not in shown
    found = json.loads(mailrun.run("search", "arrived", "--format", "json", ok=True).stdout)
    assert len(found) >= 1
    assert json.loads(mailrun.run("search", "regards", "--format", "json", ok=True).stdout) == []
    whole = mailrun.run("mail", "text", "1", ok=True).stdout
    assert "> We are sending a replacement vase." in whole and whole.startswith("The replacement arrived")


def test_mail_text_of_an_unknown_message_is_a_one_line_error(mailrun):
    result = mailrun.run("mail", "text", "5")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "error: no filed message #5; see the ids in: carecli mail log --status filed"
    ]


@pytest.mark.parametrize(
    "text, new",
    [
        (
            "Danke!\n\nAm 12.03.2026 um 09:00 schrieb Shop <help@shop.example>:\n> Ihre Bestellung\n> ist unterwegs",
            "Danke!",
        ),
        ("Merci\n\nLe mar. 10 mars 2026 à 09:00, Shop <help@shop.example> a écrit :\n> Bonjour", "Merci"),
        ("Gracias\n\nEl mar, 10 mar 2026 a las 9:00, Shop (<help@shop.example>) escribió:\n> Hola", "Gracias"),
        ("Bedankt\n\nOp di 10 mrt. 2026 om 09:00 schreef Shop <help@shop.example>:\n> Hallo", "Bedankt"),
        (
            "On Tue, Mar 10, 2026 at 9:00 AM Shop <help@shop.example> wrote:\n> Is it cracked?\n\nYes, badly.",
            "Yes, badly.",
        ),
        ("> is it cracked?\nyes\n> which one?\nthe blue one", "yes\nthe blue one"),
        ("Thanks\n\nVon: Shop <help@shop.example>\nGesendet: Dienstag, 10. März 2026 09:00\nAn: Ada\n\nold", "Thanks"),
        ("Thanks\n________________________________\nFrom: Shop\nSent: Tuesday\n\nold text", "Thanks"),
        ("Fine.\n\n-----Original Message-----\nFrom: Shop\nold text", "Fine."),
        ("Ok\n\n--- On Wed, 4/4/12, shop@example.com <shop@example.com> wrote:\n\nFrom: shop\nold", "Ok"),
    ],
)
def test_the_new_part_in_the_languages_and_clients_customers_use(text, new):
    assert new_part(text) == new


@pytest.mark.parametrize(
    "text",
    [
        "My husband wrote: the vase is broken.\nPlease help.",  # 'wrote:' in a sentence is no quote header
        "> all of it quoted",  # nothing new: the whole text, rather than nothing
        "FYI\n\n---------- Forwarded message ---------\nFrom: Ben <ben@example.com>\nDate: Mon\n\n> a quote in it",
        "From: the garden centre\nSent: no reply yet, so I write again",  # no Outlook block: a sentence
    ],
)
def test_text_that_only_looks_quoted_is_kept_whole(text):
    assert new_part(text) == text.strip()
