"""Parsing real-world messages (../shared/datasets/mail, see its SOURCE.md): the facts below were
read from the files themselves (headers, and bodies decoded by hand with base64/iconv), not from
the parser's output."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carecli.mail.parse import Unparseable, parse, safe_name, subject_key

DATASET = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "mail"
if not DATASET.is_dir():  # the worktree sits beside /work/shared
    DATASET = Path("/work/shared/datasets/mail")

pytestmark = pytest.mark.skipif(not DATASET.is_dir(), reason="the shared mail dataset is not here")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


def load(name: str):
    return parse((DATASET / f"{name}.eml").read_bytes())


# name: sender, display name, subject, Date in UTC, Message-ID, In-Reply-To, References, automatic?, text start
FACTS = {
    "thread-rfc5322-1-saying-hello": (
        "jdoe@machine.example", "John Doe", "Saying Hello", utc(1997, 11, 21, 15, 55, 6),
        "1234@local.machine.example", [], [], False, "This is a message just to say hello.",
    ),
    "thread-rfc5322-2-reply": (
        "mary@example.net", "Mary Smith", "Re: Saying Hello", utc(1997, 11, 21, 16, 1, 10),
        "3456@example.net", ["1234@local.machine.example"], ["1234@local.machine.example"], False,
        "This is a reply to your hello.",
    ),
    "thread-rfc5322-3-reply-to-reply": (
        "jdoe@machine.example", "John Doe", "Re: Saying Hello", utc(1997, 11, 21, 17, 0, 0),
        "abcd.1234@local.machine.tld", ["3456@example.net"], ["1234@local.machine.example", "3456@example.net"],
        False, "This is a reply to your reply.",
    ),
    "reply-yahoo-in-reply-to-only": (
        "xxx@yahoo.com", "Alex Q", "Re: Test", utc(2012, 4, 2, 13, 45, 30),
        "1333374330.68772.YahooMailNeo@web114411.mail.gq1.yahoo.com", ["1333374262.7063.15.camel@mg5"], [], False,
        "Hello",
    ),
    "charset-iso-2022-jp-reply": (
        "atsushi@example.com", "Atsushi Yoshida", "Re: TEST テストテスト", utc(2011, 8, 19, 1, 47, 17),
        "0CC5E11ED2C1D@example.com", ["rid_5582199198@msgid.example.com"], [], False, "Hello",
    ),
    "charset-euc-kr-base64": (
        "jamis@37signals.com", "Jamis Buck", "NOTE: 한국말로 하는 것", utc(2005, 5, 2, 22, 7, 5),
        "d3b8cf8e49f04480850c28713a1f473e@37signals.com", [], [], False, "대부분의 마찬가지로, 우리는 하나님을 믿습니다.",
    ),
    "charset-windows-1252-qp-outlook": (
        "doug@example.com", "Doug Sauder", "Die Hasen und die Frösche (Microsoft Outlook 00)",
        utc(2000, 5, 17, 23, 30, 20), "NDBBIAKOPKHFGPLCODIGCEKECHAA.doug@example.com", [], [], False,
        "Die Hasen und die Frösche",
    ),
    "html-only-iso-8859-1-qp": (
        "dwsauder@example.com", "Doug Sauder", "Die Hasen und die Frösche", utc(2000, 5, 19, 4, 31, 0),
        "4.2.0.58.20000519003052.00a89c40@pop.example.com", [], [], False, "Die Hasen und die Frösche",
    ),
    "charset-shift-jis-8bit": (
        "xxxxxxx@docomo.ne.jp", "", "test", utc(2014, 5, 28, 8, 18, 19), "xxxxx@docomo.ne.jp", [], [], False,
        "あいうえお",
    ),
    "plain-utf8-8bit-czech": (
        "timothy.hobbs@auto-mat.cz", "Timothy Hobbs", "Testovácí email", utc(2019, 3, 8, 22, 40, 4),
        "0fd7067e-2842-5b6c-3548-3cf7e6a1c9ea@auto-mat.cz", [], [], False, "íářčšáíéřášč",
    ),
    "auto-away-until-auto-submitted": (
        "kijitora@example.net", "", "Away until May 5", utc(2005, 4, 29, 14, 34, 45),
        "200503142138.j3QNaaaa222222@neko.example.org", [], [], True, "I am currently away",
    ),
    "bounce-sendmail-failure": (
        "mailer-daemon@tttttt.com.au", "Mail Delivery Subsystem", "Returned mail: see transcript for details",
        utc(2007, 12, 23, 23, 3, 53), "200712232303.lBNN3rDp003436@mail12.rrrr.com.au", [], [], True,
        "The original message was received at",
    ),
    "spam-gtube-precedence-junk": (
        "sender@example.net", "Sender", "Test spam mail (GTUBE)", utc(2003, 7, 23, 21, 30, 0),
        "GTUBE1.1010101@example.net", [], [], True, "This is the GTUBE",
    ),
    "list-newsletter-list-id": (
        "info@continuityinsights.com", "Continuity Insights", "New Webinar: So, You Have A Disaster... Now What?",
        utc(2018, 8, 29, 20, 26, 47),
        "3f21937f0f636c8cec1db30bf.042ea43672.20180829202633.199bb58d0b.baa034eb@mail90.suw15.mcsv.net",
        [], [], True, None,
    ),
    "headers-raw-utf8-rfc6532": ("jdöe@mächine.example", "Jöhn Doe", "Säying Hello", None, None, [], [], False, "body"),
    "charset-iso-2022-jp-no-date-no-message-id": (
        "raasdnil@gmail.com", "Mikel Lindsaar", "まみむめも", None, None, [], [], False, None,
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(FACTS))
def test_the_facts_of_real_messages(name):
    sender, display, subject, date, message_id, in_reply_to, references, automatic, text = FACTS[name]
    mail = load(name)
    assert (mail.sender, mail.sender_name, mail.subject) == (sender, display, subject)
    assert mail.date == date
    assert (mail.message_id, mail.in_reply_to, mail.references) == (message_id, in_reply_to, references)
    assert (mail.automatic is not None) is automatic, mail.automatic
    if text is not None:
        assert mail.text.startswith(text), mail.text[:80]


def test_a_date_in_the_year_3609_falls_back_to_the_time_received():
    mail = load("date-year-3609-windows-1251")
    received = utc(2026, 3, 14, 10, 0, 0)
    assert mail.date == utc(3609, 6, 30, 9, 33, 50)
    assert mail.when(received) == received
    assert mail.sender_name == "Атиковa"  # windows-1251 encoded word (the last letter is a Latin a)


@pytest.mark.parametrize("name", ["date-garbage-localised", "date-hour-59-newsletter", "date-html-in-date-header"])
def test_an_unreadable_date_is_none_and_noted(name):
    mail = load(name)
    assert mail.date is None
    assert any("unreadable Date" in note for note in mail.notes)


ATTACHMENTS = {
    "attach-three-pngs-outlook": [("blueball.png", "image/png"), ("greenball.png", "image/png"), ("redball.png", "image/png")],
    "attach-jpeg-estonian-filename": [("Eelanalüüsi päring.jpg", "image/jpeg")],
    "attach-only-gzip-no-text-body": [("blah.gz", "application/x-gzip")],
    "attach-msword-french": [("Biodiversite de semaine en semaine.doc", "application/msword")],
    "attach-tnef-winmail-read-receipt": [("winmail.dat", "application/ms-tnef")],
    "plain-basic-crlf": [],
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(ATTACHMENTS))
def test_attachments_are_listed_with_name_and_type(name):
    assert [(a.name, a.content_type) for a in load(name).attachments] == ATTACHMENTS[name]
    assert all(a.size > 0 for a in load(name).attachments)


def test_a_forwarded_message_is_one_attachment_not_its_parts():
    (attachment,) = load("fwd-as-attachment-rfc822-with-pdf").attachments
    assert attachment.content_type == "message/rfc822"


def test_an_outlook_boundary_with_an_equals_sign_still_splits_into_parts():
    assert load("broken-illegal-boundary-outlook").text.startswith("Hello\nThis is an outlook test")


def test_an_unknown_charset_name_still_gives_the_text():
    assert load("charset-invalid-name").text.startswith("The Hare and the Tortoise")


def test_a_body_labelled_gb2312_that_is_utf8_is_read_as_utf8():
    assert load("charset-gb2312-8bit-no-message-id").text.startswith("你好！")


def test_raw_8bit_latin1_headers_are_decoded():
    mail = load("broken-raw-8bit-subject")
    assert mail.subject.startswith("Formação FrenetikPolis")
    assert mail.message_id is None and mail.key.startswith("sha256:")


def test_an_mbox_from_line_before_the_headers_is_not_the_end_of_them():
    mail = load("auto-replied-mbox-from-line")
    assert mail.sender == "foo@bar.net" and mail.automatic == "Auto-Submitted: auto-replied"


def test_an_empty_return_path_marks_an_exchange_auto_reply():
    assert "Return-Path" in (load("auto-exchange-automatic-reply").automatic or "")


def test_the_first_of_two_from_headers_is_the_sender():
    mail = load("charset-windows-1252-qp-outlook")
    assert mail.sender == "doug@example.com" and mail.notes == ["2 From headers; the first is taken"]


def test_a_header_block_broken_at_its_second_line_is_unparseable_with_a_reason():
    with pytest.raises(Unparseable, match="no From address"):
        load("broken-unparseable-header-block")


@pytest.mark.parametrize("raw", [b"", b"   \r\n", b"just some words\n"])
def test_text_that_is_no_message_is_unparseable(raw):
    with pytest.raises(Unparseable):
        parse(raw)


def test_every_shared_message_parses_or_gives_a_reason():
    for path in sorted(DATASET.glob("*.eml")):
        try:
            mail = parse(path.read_bytes())
        except Unparseable as problem:
            assert problem.reason, path.name
        else:
            assert "@" in mail.sender, path.name


# ---------------------------------------------------------------- properties

PREFIXES = ["Re: ", "RE: ", "Fwd: ", "FW: ", "AW: ", "SV: ", "Antw: ", "Re[2]: ", "WG: ", "Fwd:Re: "]
words = st.text(alphabet=st.characters(categories=("L", "N")), min_size=1, max_size=12)


@given(st.lists(words, min_size=1, max_size=5), st.lists(st.sampled_from(PREFIXES), max_size=4))
def test_reply_and_forward_prefixes_never_change_the_subject_key(parts, prefixes):
    subject = " ".join(parts)
    if subject_key(subject) != subject.casefold():
        return  # the subject itself starts like a prefix ("Re: ..." built by chance)
    assert subject_key("".join(prefixes) + subject) == subject_key(subject)
    assert subject_key(subject_key(subject)) == subject_key(subject)


@given(st.text(max_size=60))
def test_the_subject_key_is_idempotent(subject):
    assert subject_key(subject_key(subject)) == subject_key(subject)


@given(st.text(max_size=80))
def test_a_safe_name_never_leaves_its_folder(name):
    safe = safe_name(name)
    assert safe and "/" not in safe and "\\" not in safe and not safe.startswith(".")


@given(
    st.text(alphabet=st.characters(codec="latin-1", exclude_categories=("Cc", "Cs")), max_size=40),
    st.text(alphabet=st.characters(categories=("L", "N", "Zs")), max_size=20),
)
def test_any_subject_and_display_name_round_trip_as_encoded_words(subject, name):
    from email.headerregistry import Address
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"] = Address(display_name=name.strip(), addr_spec="someone@example.com")
    message["Subject"] = subject
    message.set_content("hi")
    mail = parse(bytes(message))
    assert mail.sender == "someone@example.com"
    assert mail.subject == " ".join(subject.split())
    assert mail.sender_name == " ".join(name.split()).strip("'\" ")
