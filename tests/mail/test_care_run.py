"""`care run`: the rules of [[care.rules]] survey, nudge, close after silence, mail due follow-ups,
thank and recover, each once, every action an event naming its rule; the answers come back
through mail intake (a score is recorded, the ticket stays closed). Real SMTP (aiosmtpd)."""

from __future__ import annotations

import email
import json
from email import policy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carecli.mail import autopilot
from tests.mail.test_intake import message, rows

RULES = """
[[care.rules]]
name = "survey"
action = "csat"
after = "2d"

[[care.rules]]
name = "chase"
action = "nudge"
after = "3d"
close_after = "5d"

[[care.rules]]
name = "tips"
action = "followups"

[[care.rules]]
name = "thanks"
action = "thank"
"""


@pytest.fixture
def care(mailrun, smtp, monkeypatch):
    """The mail CLI with the rules above and the test SMTP server; `care.at(TIME)` moves the clock."""
    mailrun.config.write_text(mailrun.config.read_text() + RULES)

    def at(when: str) -> None:
        monkeypatch.setenv("CARECLI_NOW", when)

    mailrun.at = at  # type: ignore[attr-defined]
    return mailrun


def care_run(care, *args):
    result = care.run("care", "run", *args, "--format", "json", ok=True)
    return json.loads(result.stdout), result.stderr


def outbox(care, *args):
    return json.loads(care.run("outbox", "list", *args, "--format", "json", ok=True).stdout)


def sent_mail(smtp):
    return [email.message_from_bytes(raw.partition(b"\r\n")[2], policy=policy.default) for raw in smtp.received()]


def closed_ticket(care):
    """Ticket #1 from Ada's mail on 13 March, answered and closed that day."""
    care(message(message_id="m1@example.com"))
    care.run("ticket", "reply", "1", "A new vase is on its way.", "--at", "2026-03-13 10:00", ok=True)
    care.run("ticket", "close", "1", "--at", "2026-03-13 12:00", ok=True)


def test_csat_is_asked_once_after_the_close_and_the_answer_is_recorded_without_reopening(care, smtp, db_path):
    closed_ticket(care)
    care.at("2026-03-14T10:00:00+00:00")  # a day after the close: not yet
    assert care_run(care, "--dry-run")[0] == []
    care.at("2026-03-15T13:00:00+00:00")
    planned, said = care_run(care, "--dry-run")
    assert [(a["rule"], a["action"], a["ticket_id"], a["result"]) for a in planned] == [
        ("survey", "csat", 1, "would queue")
    ]
    assert "nothing was changed" in said and outbox(care) == []

    actions, said = care_run(care)
    assert [(a["action"], a["result"]) for a in actions] == [("csat", "queued 1")]
    assert "queued 1 message" in said and "carecli outbox send" in said
    assert care_run(care)[0] == []  # asked once, never again
    care.run("outbox", "send", ok=True)
    [question] = sent_mail(smtp)
    assert question["Subject"].endswith("[#1]") and question["To"] == "ada@example.com"
    assert question["List-Unsubscribe"]  # a survey is care mail: the customer can opt out
    assert "1 to 5" in question.get_content()
    shown = care.run("ticket", "show", "1", ok=True).stdout
    assert "care rule survey: asked for CSAT by mail" in shown

    answer = message(
        subject=f"Re: {question['Subject']}",
        body="4 - the new vase is lovely\n\n> reply with a number from 1 to 5",
        message_id="a1@example.com",
        in_reply_to=question["Message-ID"].strip("<>"),
        at="2026-03-15 14:00",
    )
    filed = care(answer)
    assert "survey answer: CSAT 4" in filed.stderr and "stays closed" in filed.stderr
    assert rows(db_path, "SELECT kind, score, ticket_id FROM surveys") == [("csat", 4, 1)]
    assert rows(db_path, "SELECT status, reopen_count FROM tickets WHERE id = 1") == [("closed", 0)]


def test_an_answer_without_a_score_reopens_as_any_reply_does(care, smtp, db_path):
    closed_ticket(care)
    care.at("2026-03-15T13:00:00+00:00")
    care_run(care)
    care.run("outbox", "send", ok=True)
    [question] = sent_mail(smtp)
    answer = message(
        subject=question["Subject"],
        body="The vase is cracked too!",
        message_id="a1@example.com",
        in_reply_to=question["Message-ID"].strip("<>"),
        at="2026-03-15 14:00",
    )
    assert "reopened" in care(answer).stderr
    assert rows(db_path, "SELECT count(*) FROM surveys") == [(0,)]


def test_nudge_then_close_after_silence(care, smtp, db_path):
    care(message(message_id="m1@example.com"))
    care.run("ticket", "reply", "1", "Could you send a photo?", "--at", "2026-03-13 10:00", ok=True)
    care.at("2026-03-16T11:00:00+00:00")  # pending since the 13th, 10:00: three days and an hour
    actions, _ = care_run(care)
    assert [(a["rule"], a["action"], a["result"]) for a in actions] == [("chase", "nudge", "queued 1")]
    care.run("outbox", "send", ok=True)
    [nudge] = sent_mail(smtp)
    assert nudge["Auto-Submitted"] == "auto-generated" and nudge["In-Reply-To"] == "<m1@example.com>"
    assert nudge["List-Unsubscribe"] is None  # about the customer's own request: not care mail
    care.at("2026-03-18T11:00:00+00:00")
    assert care_run(care)[0] == []  # nudged once per pending spell; not silent for 5 days yet
    care.at("2026-03-21T12:00:00+00:00")
    actions, said = care_run(care)
    assert [(a["action"], a["result"]) for a in actions] == [("close", "closed")]
    assert "closed 1 ticket" in said
    assert rows(db_path, "SELECT status, resolution FROM tickets") == [("closed", "no reply")]
    timeline = care.run("ticket", "show", "1", ok=True).stdout
    assert "care rule chase: nudged by mail" in timeline and "care rule chase: closed" in timeline
    # A ticket closed for silence is not surveyed.
    care.at("2026-03-24T12:00:00+00:00")
    assert care_run(care)[0] == []


def test_the_customers_answer_cancels_the_queued_nudge_and_stops_the_close(care, smtp, db_path):
    care(message(message_id="m1@example.com"))
    care.run("ticket", "reply", "1", "Could you send a photo?", "--at", "2026-03-13 10:00", ok=True)
    care.at("2026-03-16T11:00:00+00:00")
    care_run(care)
    filed = care(message(subject="Re: Vase arrived cracked [#1]", message_id="m2@example.com", at="2026-03-16 11:00"))
    assert "queued care mail cancelled" in filed.stderr
    assert [m["state"] for m in outbox(care)] == ["cancelled"]
    care.at("2026-03-25T12:00:00+00:00")
    assert [a["action"] for a in care_run(care)[0]] == []  # open again: nothing to chase or close
    assert rows(db_path, "SELECT status FROM tickets") == [("open",)]


def test_a_due_follow_up_with_a_template_is_mailed_and_done(care, smtp, db_path, isolated):
    templates = care.config.parent / "templates"
    templates.mkdir()
    (templates / "orchid.txt").write_text(
        "Subject: Your orchid, {{ customer.name }}\n\nWater it once a week. {{ followup.note }}\n"
    )
    care.run("customer", "add", "Ada Lovelace", "--email", "ada@example.com", ok=True)
    care.run("followup", "add", "ada@example.com", "--due", "2026-03-14", "--kind", "tip", "--template", "orchid",
             "--note", "Not in full sun.", ok=True)  # fmt: skip
    actions, _ = care_run(care)
    assert [(a["rule"], a["action"], a["followup_id"], a["result"]) for a in actions] == [
        ("tips", "followup", 1, "queued 1")
    ]
    assert rows(db_path, "SELECT status, outcome LIKE 'mailed by care rule tips%' FROM followups") == [("done", 1)]
    care.run("outbox", "send", ok=True)
    [tip] = sent_mail(smtp)
    assert tip["Subject"] == "Your orchid, Ada Lovelace"
    assert "Water it once a week. Not in full sun." in tip.get_content()
    assert care_run(care)[0] == []


def test_an_unknown_follow_up_template_is_refused_before_anything_is_written(care, db_path):
    care.run("customer", "add", "Ada Lovelace", "--email", "ada@example.com", ok=True)
    result = care.run("followup", "add", "ada", "--due", "2026-03-14", "--template", "nope")
    assert result.exit_code == 1 and "carecli template list" in result.stderr
    assert rows(db_path, "SELECT count(*) FROM followups") == [(0,)]


def test_a_template_with_a_missing_placeholder_stops_the_run_before_anything_is_queued(care, smtp, db_path):
    templates = care.config.parent / "templates"
    templates.mkdir()
    (templates / "csat.txt").write_text("Subject: How did we do?\n\nDear {{ customer.nickname }}, 1 to 5?\n")
    closed_ticket(care)
    care.at("2026-03-15T13:00:00+00:00")
    result = care.run("care", "run")
    assert result.exit_code == 1 and "nickname" in result.stderr and "Traceback" not in result.stderr
    assert outbox(care) == [] and rows(db_path, "SELECT count(*) FROM events WHERE kind = 'care'") == [(0,)]


def test_an_opted_out_customer_is_skipped_with_the_reason_and_nothing_is_sent(care, smtp, db_path):
    closed_ticket(care)
    care.run("customer", "opt-out", "ada@example.com", ok=True)
    care.at("2026-03-15T13:00:00+00:00")
    actions, said = care_run(care)
    assert [(a["action"], a["result"]) for a in actions] == [("csat", "skipped: opted out of care mail")]
    assert outbox(care) == [] and "skipped 1" in said


def test_promoters_are_thanked_once(care, smtp, db_path):
    care.run("customer", "add", "Ada Lovelace", "--email", "ada@example.com", ok=True)
    care.run("survey", "nps", "ada", "10", "--at", "2026-03-13 09:00", ok=True)
    actions, _ = care_run(care)
    assert [(a["rule"], a["action"], a["result"]) for a in actions] == [("thanks", "thank", "queued 1")]
    assert rows(db_path, "SELECT kind, status, source FROM followups") == [("thank-you", "done", "care:thanks")]
    assert care_run(care)[0] == []
    suggested = json.loads(care.run("care", "suggest", "--format", "json", ok=True).stdout)
    assert suggested == []  # covered for `care suggest` too


def test_a_care_run_is_one_undoable_step_until_its_mail_goes_out(care, smtp, db_path):
    closed_ticket(care)
    care.at("2026-03-15T13:00:00+00:00")
    care_run(care)
    assert "undid" in care.run("undo", "--yes", ok=True).stderr
    assert outbox(care) == [] and rows(
        db_path, "SELECT count(*) FROM events WHERE kind = 'care' AND voided_by IS NULL"
    ) == [(0,)]
    care_run(care)
    care.run("outbox", "send", ok=True)
    refused = care.run("undo", "--yes")
    assert refused.exit_code == 1 and "mail" in refused.stderr


def test_care_run_without_rules_says_how_to_add_them(run):
    result = run("care", "run", ok=True)
    assert "[[care.rules]]" in result.stderr and result.stdout == ""


@pytest.mark.parametrize(
    ("rules", "error"),
    [
        ('[[care.rules]]\nname = "x"\naction = "shout"\n', "action must be one of"),
        ('[[care.rules]]\naction = "csat"\n', "needs a name"),
        ('[[care.rules]]\nname = "x"\naction = "csat"\nafter = "soon"\n', "after"),
        ('[[care.rules]]\nname = "x"\naction = "csat"\nclose_after = "2d"\n', "close_after belongs to a nudge"),
        ('[[care.rules]]\nname = "x"\naction = "csat"\n[[care.rules]]\nname = "x"\naction = "nudge"\n', "two rules"),
        ('[[care.rules]]\nname = "x"\naction = "csat"\nsurvey = "nope"\n', "survey must be"),
        ('[[care.rules]]\nname = "x"\naction = "csat"\nwhen = "2d"\n', "unknown field 'when'"),
    ],
)
def test_a_bad_rule_is_a_one_line_config_error(run, isolated, rules, error):
    config = isolated / "c.toml"
    config.write_text(rules)
    result = run("--config", str(config), "care", "run")
    assert result.exit_code == 1 and error in result.stderr and len(result.stderr.strip().splitlines()) <= 2


@given(st.text(max_size=300), st.sampled_from(["csat", "nps", "ces"]))
def test_a_score_read_from_an_answer_is_on_the_scale_and_the_first_whole_number(text, kind):
    score = autopilot.read_score(text, kind)
    if score is not None:
        low, high = {"csat": (1, 5), "nps": (0, 10), "ces": (1, 7)}[kind]
        assert low <= score <= high and str(score) in text[: autopilot.SCORE_LOOKS]


@pytest.mark.parametrize(
    ("text", "kind", "score"),
    [
        ("4", "csat", 4),
        ("5 - thanks!", "csat", 5),
        ("I'd say 9 out of 10", "nps", 9),
        ("10", "nps", 10),
        ("0", "nps", 0),
        ("4.5", "csat", None),
        ("6", "csat", None),
        ("order 1042 was late", "csat", None),
        ("no number here", "ces", None),
        ("०", "nps", None),
    ],
)
def test_reading_a_score(text, kind, score):
    assert autopilot.read_score(text, kind) == score
