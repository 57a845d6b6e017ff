"""Mail templates: starter ones and the shop's own (templates/ beside the config), rendered in
Jinja2's sandbox with undefined names as errors; `template list|show|render`; replies and
follow-ups mailed from a template."""

from __future__ import annotations

import email
import json
from email import policy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carecli.core.errors import InvalidInput
from carecli.mail import templates
from tests.mail.test_intake import message, rows


@pytest.fixture
def shop(mailrun, smtp):
    """The mail CLI with [shop] set, the SMTP server, and ticket #1 from Ada (opened by mail)."""
    mailrun.config.write_text(
        mailrun.config.read_text() + '[shop]\nname = "Fleur"\nsignature = "Fleur, the flower shop"\n'
    )
    mailrun(message(message_id="m1@example.com"))
    return mailrun


def own_template(shop, name: str, text: str) -> None:
    folder = shop.config.parent / "templates"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.txt").write_text(text)


def sent(smtp):
    return [email.message_from_bytes(raw.partition(b"\r\n")[2], policy=policy.default) for raw in smtp.received()]


def test_every_starter_template_renders_for_a_ticket_and_its_follow_up(shop):
    shop.run(
        "followup", "add", "ada@example.com", "--due", "2026-03-20", "--ticket", "1", "--note", "Repot it", ok=True
    )
    names = [t["name"] for t in json.loads(shop.run("template", "list", "--format", "json", ok=True).stdout)]
    assert {
        "reply",
        "checkin",
        "csat",
        "nps",
        "ces",
        "nudge",
        "service-reminder",
        "tip",
        "thank-you",
        "recover",
    } <= set(names)
    for name in names:
        result = shop.run("template", "render", name, "--followup", "1", "--text", "Hello there", "--format", "json")
        assert result.exit_code == 0, (name, result.stderr)
        rendered = json.loads(result.stdout)
        assert rendered["subject"] and "{{" not in rendered["body"] and "Fleur" in rendered["body"], name


def test_render_previews_exactly_what_would_be_sent_and_queues_nothing(shop, db_path):
    shown = shop.run("template", "render", "csat", "--ticket", "1", ok=True).stdout
    assert shown.startswith('Subject: How did we do with "Vase arrived cracked"?\n\nHello Ada,\n')
    assert "1 to 5" in shown and shown.rstrip().endswith("Fleur, the flower shop")
    assert rows(db_path, "SELECT count(*) FROM outbox") == [(0,)]
    assert "{{ ticket.subject }}" in shop.run("template", "show", "csat", ok=True).stdout


def test_a_missing_placeholder_is_one_line_naming_it(shop):
    own_template(shop, "hello", "Subject: Hi\n\nDear {{ customer.nickname }}\n")
    result = shop.run("template", "render", "hello", "--ticket", "1")
    assert result.exit_code == 1 and "nickname" in result.stderr and len(result.stderr.splitlines()) == 1
    needs_ticket = shop.run("template", "render", "checkin", "--customer", "ada@example.com")
    assert needs_ticket.exit_code == 1 and "--ticket N" in needs_ticket.stderr


@pytest.mark.parametrize(
    "attack",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ customer.__class__.__init__.__globals__ }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    ],
)
def test_a_template_cannot_reach_python_internals(shop, attack):
    own_template(shop, "evil", f"Subject: x\n\n{attack}\n")
    result = shop.run("template", "render", "evil", "--ticket", "1")
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert "template 'evil'" in result.stderr


def test_the_shops_own_template_wins_over_the_starter_of_that_name(shop):
    own_template(shop, "csat", "Subject: Quick question\n\nScore us 1-5, {{ customer.first_name }}!\n")
    listed = {t["name"]: t for t in json.loads(shop.run("template", "list", "--format", "json", ok=True).stdout)}
    assert listed["csat"]["source"].endswith("templates/csat.txt") and listed["nps"]["source"] == "starter"
    assert shop.run("template", "render", "csat", "--ticket", "1", ok=True).stdout == (
        "Subject: Quick question\n\nScore us 1-5, Ada!\n"
    )


def test_unknown_or_unsafe_names_are_refused(shop):
    missing = shop.run("template", "render", "nope", "--ticket", "1")
    assert missing.exit_code == 1 and "carecli template list" in missing.stderr
    sneaky = shop.run("template", "show", "../config")
    assert sneaky.exit_code == 1 and "not a template name" in sneaky.stderr


def test_a_stored_subject_with_a_line_break_cannot_add_a_header(shop, db_path):
    shop.run("ticket", "edit", "1", "--subject", "Vase\x1b[2J", ok=True)
    result = json.loads(shop.run("template", "render", "csat", "--ticket", "1", "--format", "json", ok=True).stdout)
    assert "\x1b" not in result["subject"] and "\n" not in result["subject"]


def test_ticket_reply_from_a_template_logs_and_mails_the_rendered_text(shop, smtp, db_path):
    result = shop.run("ticket", "reply", "1", "A new vase goes out today.", "--send", "--template", "reply", ok=True)
    assert "queued message 1" in result.stderr
    [body] = rows(db_path, "SELECT body FROM interactions WHERE ticket_id = 1 AND direction = 'out'")[0]
    assert body.startswith("Hello Ada,\n\nA new vase goes out today.")
    shop.run("outbox", "send", ok=True)
    [mail] = sent(smtp)
    assert mail["Subject"] == "Re: Vase arrived cracked [#1]" and mail["In-Reply-To"] == "<m1@example.com>"
    assert "A new vase goes out today." in mail.get_content()


def test_ticket_reply_needs_text_or_a_template(shop, db_path):
    result = shop.run("ticket", "reply", "1")
    assert result.exit_code == 2 and "--template" in result.stderr
    failed = shop.run("ticket", "reply", "1", "--send", "--template", "checkin-missing")
    assert failed.exit_code == 1
    assert rows(db_path, "SELECT count(*) FROM interactions WHERE direction = 'out'") == [(0,)]


def test_followup_done_send_mails_the_template_and_marks_it_done(shop, smtp, db_path):
    shop.run(
        "followup", "add", "ada@example.com", "--due", "2026-03-14", "--kind", "tip", "--note", "Water weekly", ok=True
    )
    result = shop.run("followup", "done", "1", "--send", "--template", "tip", ok=True)
    assert "queued message 1" in result.stderr
    assert rows(db_path, "SELECT status, outcome LIKE 'mailed by carecli (outbox 1%' FROM followups") == [("done", 1)]
    shop.run("outbox", "send", ok=True)
    [mail] = sent(smtp)
    assert mail["Subject"] == "A tip from Fleur" and "Water weekly" in mail.get_content()
    assert mail["List-Unsubscribe"]


def test_followup_done_send_to_an_opted_out_customer_writes_nothing(shop, db_path):
    shop.run("followup", "add", "ada@example.com", "--due", "2026-03-14", "--kind", "tip", ok=True)
    shop.run("customer", "opt-out", "ada@example.com", ok=True)
    result = shop.run("followup", "done", "1", "--send", "--template", "tip")
    assert result.exit_code == 1 and "opted out" in result.stderr
    assert rows(db_path, "SELECT status FROM followups") == [("scheduled",)]
    assert rows(db_path, "SELECT count(*) FROM outbox") == [(0,)]
    without = shop.run("followup", "done", "1", "--send")
    assert without.exit_code == 2 and "--template" in without.stderr


header = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=40)


@given(subject=header, body=st.text(max_size=200))
def test_split_reads_the_subject_header_and_keeps_the_body(subject, body):
    text = f"Subject: {subject}\n\n{body}"
    headers, rest = templates.split(text)
    assert headers == {"subject": subject.strip()} and rest == body.replace("\r\n", "\n")


@given(st.text(max_size=200))
def test_split_never_fails_except_on_a_header_it_cannot_take(text):
    try:
        headers, body = templates.split(text)
    except InvalidInput as exc:
        assert "header" in str(exc)
    else:
        assert set(headers) <= {"subject"}
