"""`care run`: the rules of `[[care.rules]]` acted on by themselves, for cron. Each rule finds what
is due (a closed ticket to survey, a pending ticket to nudge or close, a follow-up that carries a
template, a promoter to thank, an unhappy customer to win back), queues the mail in the outbox and
appends a `care` event naming the rule, so `ticket show` says what was done and why. The events are
also the memory that keeps a rule from acting twice. `plan` only reads; `run` writes, inside the
caller's one transaction, and renders every template before it queues anything. Before the rules,
`run` schedules the care plans' steps not scheduled yet (records/plans.py)."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from carecli.core.config import Settings
from carecli.core.errors import InvalidInput
from carecli.mail import compose, outbox
from carecli.records import followups, surveys, tickets
from carecli.records.activity import record_event
from carecli.text.clock import from_db, to_db
from carecli.text.durations import parse_duration

# A close, a follow-up or a survey answer older than this (beyond the rule's wait) is not acted on:
# a missed run catches up on a week, but a newly added rule does not mail the whole history.
CATCH_UP = timedelta(days=7)
# An NPS question goes to a customer at most once in this long, whichever ticket prompts it.
NPS_QUIET = timedelta(days=90)
NO_REPLY = "no reply"  # the resolution of a ticket closed after a nudge met silence

SURVEY_NAMES = surveys.NAMES


@dataclass
class Action:
    """One thing a rule does (or, with --dry-run, would do), and why."""

    rule: str
    action: str  # schedule (a care plan's step) | csat | nudge | close | followup | thank | recover
    customer_id: int
    customer_name: str
    reason: str  # the evidence, with dates
    ticket_id: int | None = None
    followup_id: int | None = None
    template: str = ""
    survey: str = ""  # csat | nps | ces, for an ask
    result: str = ""  # what came of it: "queued", "closed", "skipped: ..." ("would ..." in a dry run)
    outbox_id: int | None = None
    evidence_at: str = ""  # internal: the time the wait is counted from

    def as_row(self) -> dict:
        row = asdict(self)
        row.pop("evidence_at")
        return row


def _day(at: str, settings: Settings) -> str:
    return from_db(at).astimezone(settings.tz).strftime("%Y-%m-%d")


def plan(conn: sqlite3.Connection, settings: Settings, *, now: datetime) -> list[Action]:
    """Every action the rules call for now, in rule order; nothing is written."""
    found: list[Action] = []
    for rule in settings["care.rules"]:
        after = parse_duration(rule["after"]) if rule["after"] else timedelta(0)
        finder = _FINDERS[rule["action"]]
        found.extend(finder(conn, settings, rule, now=now, after=after))
    return found


def _csat(conn, settings, rule, *, now, after) -> list[Action]:
    survey = rule["survey"]
    due_before, not_before = now - after, now - after - CATCH_UP
    nps_guard = ""
    params: dict = {"due_before": to_db(due_before), "not_before": to_db(not_before), "survey": survey}
    if survey == "nps":  # NPS is about the customer, not the ticket: one question per NPS_QUIET
        nps_guard = """AND NOT EXISTS (SELECT 1 FROM events q JOIN tickets qt ON qt.id = q.ticket_id
                           WHERE qt.customer_id = t.customer_id AND q.kind = 'care' AND q.voided_by IS NULL
                             AND q.at >= :quiet_since AND json_extract(q.detail, '$.survey') = 'nps')"""
        params["quiet_since"] = to_db(now - NPS_QUIET)
    # The unary + keeps SQLite off the status and kind indexes: by status it would walk every closed
    # ticket, and by kind every answer (125 s on the 1M-ticket database; 40 ms by close time and ticket).
    rows = conn.execute(
        f"""
        SELECT t.id, t.customer_id, c.name AS customer_name, t.closed_at FROM tickets t
        JOIN customers c ON c.id = t.customer_id
        WHERE +t.status = 'closed' AND t.closed_at <= :due_before AND t.closed_at >= :not_before
          AND coalesce(t.resolution, '') <> '{NO_REPLY}' AND c.lost_at IS NULL
          AND NOT EXISTS (SELECT 1 FROM surveys s WHERE s.ticket_id = t.id AND +s.kind = :survey)
          AND NOT EXISTS (SELECT 1 FROM events e WHERE e.ticket_id = t.id AND e.kind = 'care'
                          AND e.voided_by IS NULL AND json_extract(e.detail, '$.survey') = :survey)
          {nps_guard}
        ORDER BY t.closed_at, t.id
        """,
        params,
    )
    return [
        Action(
            rule["name"],
            "csat",
            row["customer_id"],
            row["customer_name"],
            f"closed {_day(row['closed_at'], settings)}; no {SURVEY_NAMES[survey]} asked yet",
            ticket_id=row["id"],
            template=rule["template"],
            survey=survey,
            evidence_at=row["closed_at"],
        )
        for row in rows
    ]


# When a pending ticket went pending; imported and generated tickets may lack pending_since, and
# their last change is then the best word for it.
_PENDING_SINCE = "coalesce(t.pending_since, t.updated_at)"


def _nudge(conn, settings, rule, *, now, after) -> list[Action]:
    rows = conn.execute(
        f"""
        SELECT t.id, t.customer_id, c.name AS customer_name, {_PENDING_SINCE} AS pending_since FROM tickets t
        JOIN customers c ON c.id = t.customer_id
        WHERE t.status = 'pending' AND {_PENDING_SINCE} <= :due_before
          AND NOT EXISTS (SELECT 1 FROM events e WHERE e.ticket_id = t.id AND e.kind = 'care'
                          AND e.voided_by IS NULL AND e.at >= {_PENDING_SINCE}
                          AND json_extract(e.detail, '$.action') = 'nudge')
        ORDER BY 4, t.id
        """,
        {"due_before": to_db(now - after)},
    )
    found = [
        Action(
            rule["name"],
            "nudge",
            row["customer_id"],
            row["customer_name"],
            f"waiting on the customer since {_day(row['pending_since'], settings)}",
            ticket_id=row["id"],
            template=rule["template"],
            evidence_at=row["pending_since"],
        )
        for row in rows
    ]
    if rule["close_after"]:
        found.extend(_silent_after_nudge(conn, settings, rule, now=now))
    return found


def _silent_after_nudge(conn, settings, rule, *, now) -> list[Action]:
    """Pending tickets whose nudge (by this rule, in this pending spell) was sent `close_after` ago:
    the customer's answer would have made them open again, so they are still silent."""
    rows = conn.execute(
        f"""
        SELECT t.id, t.customer_id, c.name AS customer_name, o.sent_at FROM tickets t
        JOIN customers c ON c.id = t.customer_id
        JOIN events e ON e.ticket_id = t.id AND e.kind = 'care' AND e.voided_by IS NULL
                     AND json_extract(e.detail, '$.action') = 'nudge' AND json_extract(e.detail, '$.rule') = :rule
        JOIN outbox o ON o.id = json_extract(e.detail, '$.outbox') AND o.state = 'sent'
        WHERE t.status = 'pending' AND e.at >= {_PENDING_SINCE} AND o.sent_at <= :sent_before
        ORDER BY o.sent_at, t.id
        """,
        {"rule": rule["name"], "sent_before": to_db(now - parse_duration(rule["close_after"]))},
    )
    return [
        Action(
            rule["name"],
            "close",
            row["customer_id"],
            row["customer_name"],
            f"nudged {_day(row['sent_at'], settings)}, no answer since",
            ticket_id=row["id"],
            evidence_at=row["sent_at"],
        )
        for row in rows
    ]


HELD = "held back"


def _followups(conn, settings, rule, *, now, after) -> list[Action]:
    """Due follow-ups with a template. One about an asset (a plan's service reminder) is held back
    while a ticket about that asset is open or pending: listed with that reason, not mailed. A
    reminder that fell due while such a ticket was open is mailed once the ticket closes, however
    long it was held (the catch-up window counts from the close)."""
    # Open tickets are few and found by the status index; tickets have no index by asset.
    rows = conn.execute(
        """
        WITH open_assets AS (
            SELECT asset_id, min(id) AS ticket_id FROM tickets
            WHERE status IN ('open', 'pending') AND asset_id IS NOT NULL GROUP BY asset_id),
        due AS (
            SELECT f.id FROM followups f
            WHERE f.status = 'scheduled' AND f.template IS NOT NULL AND f.due_at <= :due_before
              AND f.due_at >= :not_before
            UNION
            -- From the tickets closed within the window (the close-time index) to their assets'
            -- follow-ups (by asset); CROSS JOIN and the unary + keep SQLite from walking every
            -- scheduled follow-up and looking for tickets by creation time for each; below, the
            -- CROSS JOIN keeps it going from the few due follow-ups rather than through all of them.
            SELECT f.id FROM tickets t CROSS JOIN followups f ON f.asset_id = t.asset_id
            WHERE t.closed_at >= :not_before AND t.asset_id IS NOT NULL AND f.asset_id IS NOT NULL
              AND +f.status = 'scheduled' AND f.template IS NOT NULL AND +f.due_at <= :due_before
              AND +f.due_at >= t.created_at)
        SELECT f.id, f.customer_id, c.name AS customer_name, f.ticket_id, f.kind, f.due_at, f.template,
               f.asset_id, oa.ticket_id AS held_by
        FROM due CROSS JOIN followups f ON f.id = due.id JOIN customers c ON c.id = f.customer_id
        LEFT JOIN open_assets oa ON oa.asset_id = f.asset_id
        WHERE c.lost_at IS NULL
        ORDER BY f.due_at, f.id
        """,
        {"due_before": to_db(now - after), "not_before": to_db(now - after - CATCH_UP)},
    )
    return [
        Action(
            rule["name"],
            "followup",
            row["customer_id"],
            row["customer_name"],
            f"{row['kind']} due {_day(row['due_at'], settings)}",
            ticket_id=row["ticket_id"],
            followup_id=row["id"],
            template=rule["template"] or row["template"],
            evidence_at=row["due_at"],
            result=f"{HELD}: ticket #{row['held_by']} about asset #{row['asset_id']} is open" if row["held_by"] else "",
        )
        for row in rows
    ]


def _from_suggestions(suggestion_rule: str, action: str):
    """thank and recover: what `care suggest` proposes (it also knows who is covered already, by a
    follow-up of the kind made since the evidence; `run` records one, done, for each mail)."""

    def find(conn, settings, rule, *, now, after) -> list[Action]:
        from carecli.measure.suggest import suggest

        due_before, not_before = to_db(now - after), to_db(now - after - CATCH_UP)
        return [
            Action(
                rule["name"],
                action,
                item["customer_id"],
                item["customer_name"],
                item["evidence"],
                ticket_id=item["ticket_id"],
                template=rule["template"],
                evidence_at=item["evidence_at"],
            )
            for item in suggest(conn, settings, now=now, only=(suggestion_rule,))
            if not_before <= item["evidence_at"] <= due_before
        ]

    return find


_FINDERS = {
    "csat": _csat,
    "nudge": _nudge,
    "followups": _followups,
    "thank": _from_suggestions("thank-you", "thank"),
    "recover": _from_suggestions("recovery", "recover"),
}
_FOLLOWUP_KIND = {"thank": "thank-you", "recover": "recovery"}


# ---------------------------------------------------------------- acting


def run(conn: sqlite3.Connection, settings: Settings, *, now: datetime, dry_run: bool = False) -> list[Action]:
    """Act on every due action (inside the caller's transaction). A template that cannot be
    rendered stops the whole run before anything is queued; a customer who cannot be mailed (no
    address, opted out) is skipped with the reason and asked again on a later run."""
    scheduled = _plan_steps(conn, settings, now=now, dry_run=dry_run)
    actions = plan(conn, settings, now=now)
    checked: set[str] = set()
    for action in actions:
        if action.action != "close" and action.template not in checked:
            _render(conn, settings, action)  # raises for a bad template, before any write
            checked.add(action.template)
    if dry_run:
        for action in actions:
            if action.result.startswith(HELD):
                continue
            action.result = "would close" if action.action == "close" else _mailable(conn, action, dry=True)
        return scheduled + actions
    for action in actions:
        if action.result.startswith(HELD):
            continue
        if action.action == "close":
            _close(conn, settings, action, now=now)
            continue
        why_not = _mailable(conn, action, dry=False)
        if why_not:
            action.result = why_not
            continue
        _send(conn, settings, action, now=now)
    return scheduled + actions


def _plan_steps(conn: sqlite3.Connection, settings: Settings, *, now: datetime, dry_run: bool) -> list[Action]:
    """The care plans' steps not scheduled yet (records/plans.py), scheduled before the rules look
    for due follow-ups, so a step due today is mailed in the same run; in a dry run only listed."""
    from carecli.records import plans

    if not settings["care.plans"]:
        return []
    found = plans.pending(conn, settings, now=now) if dry_run else plans.schedule(conn, settings, now=now)
    return [
        Action(
            planned.plan,
            "schedule",
            planned.customer_id,
            planned.customer_name,
            f"step {planned.step} ({planned.kind}) for {planned.reason}",
            followup_id=planned.followup_id,
            template=planned.template,
            result="would schedule" if dry_run else f"scheduled #{planned.followup_id}",
        )
        for planned in found.followups
    ]


def _mailable(conn: sqlite3.Connection, action: Action, *, dry: bool) -> str:
    """'' when the customer can be mailed, else why not ('skipped: ...'); in a dry run, what would happen."""
    from carecli.records import consent

    row = conn.execute("SELECT email FROM customers WHERE id = ?", (action.customer_id,)).fetchone()
    if row is None or not row["email"]:
        return "skipped: no e-mail address"
    if action.action != "nudge" and consent.opted_out_at(conn, action.customer_id):
        return "skipped: opted out of care mail"
    return "would queue" if dry else ""


def _render(conn: sqlite3.Connection, settings: Settings, action: Action):
    from carecli.mail import templates

    if not action.template:
        raise InvalidInput(
            f"care rule '{action.rule}' has no template for follow-up #{action.followup_id}",
            "give the rule a template, or the follow-up one (followup add --template NAME)",
        )
    return templates.render(
        conn,
        settings,
        action.template,
        ticket_id=action.ticket_id,
        customer_id=action.customer_id,
        followup_id=action.followup_id,
    )


def _subject(conn: sqlite3.Connection, rendered, ticket_id: int | None) -> str:
    """The template's subject; on a ticket with the token [#N] (the ticket's subject if it has none)."""
    subject = rendered.subject
    if ticket_id is not None:
        subject = compose.reply_subject(ticket_id, subject or tickets.get_ticket(conn, ticket_id)["subject"])
    if not subject.strip():
        raise InvalidInput(f"template '{rendered.name}' has no Subject: line", "add one at its top")
    return subject


def mail_followup(
    conn: sqlite3.Connection,
    settings: Settings,
    followup: sqlite3.Row,
    template: str,
    *,
    now: datetime,
    rule: str | None = None,
) -> tuple[int, followups.Completion]:
    """A follow-up's contact made by mail: the template rendered for it, queued as care mail (only
    to a customer who has not opted out; Conflict otherwise), the follow-up marked done with the
    mail as its outcome. Inside the caller's transaction; `followup done --send` and `care run`."""
    from carecli.mail import templates

    rendered = templates.render(conn, settings, template, followup_id=followup["id"])
    composed = compose.compose_outreach(
        conn,
        settings,
        customer_id=followup["customer_id"],
        subject=_subject(conn, rendered, followup["ticket_id"]),
        body=rendered.body,
        at=now,
        ticket_id=followup["ticket_id"],
    )
    outbox_id = outbox.queue(
        conn,
        composed,
        kind="outreach",
        at=now,
        customer_id=followup["customer_id"],
        ticket_id=followup["ticket_id"],
        followup_id=followup["id"],
        rule=rule,
    )
    by = f"care rule {rule}" if rule else "carecli"
    completion = followups.complete(
        conn,
        settings,
        followup,
        at=now,
        outcome=f"mailed by {by} (outbox {outbox_id}, template {template})",
        channel=settings["mail.channel"],
    )
    return outbox_id, completion


def _send(conn: sqlite3.Connection, settings: Settings, action: Action, *, now: datetime) -> None:
    followup_id = action.followup_id
    if action.action in _FOLLOWUP_KIND:
        # The contact is a follow-up made and done at once: the customer's timeline shows it, the
        # follow-up figures count it, and `care suggest` sees the customer covered.
        followup_id = followups.add_followup(
            conn,
            settings,
            customer_id=action.customer_id,
            ticket_id=action.ticket_id,
            due=now,
            all_day=False,
            at=now,
            kind=_FOLLOWUP_KIND[action.action],
            note=f"{action.rule}: {action.reason}",
            source=f"care:{action.rule}",
            template=action.template,
        )["id"]
    if followup_id is not None:
        action.outbox_id, _ = mail_followup(
            conn, settings, followups.get_followup(conn, followup_id), action.template, now=now, rule=action.rule
        )
    else:
        rendered = _render(conn, settings, action)
        subject = _subject(conn, rendered, action.ticket_id)
        if action.action == "nudge":  # about the customer's own open request: a reply, not care mail
            composed = compose.compose(
                settings,
                to=compose.recipient_of(conn, action.customer_id),
                subject=subject,
                body=rendered.body,
                at=now,
                thread=compose.thread_of(conn, action.ticket_id) if action.ticket_id else [],
                automatic=True,
            )
        else:
            composed = compose.compose_outreach(
                conn,
                settings,
                customer_id=action.customer_id,
                subject=subject,
                body=rendered.body,
                at=now,
                ticket_id=action.ticket_id,
            )
        action.outbox_id = outbox.queue(
            conn,
            composed,
            kind="reply" if action.action == "nudge" else "outreach",
            at=now,
            customer_id=action.customer_id,
            ticket_id=action.ticket_id,
            rule=action.rule,
        )
    what = {
        "csat": f"asked for {SURVEY_NAMES.get(action.survey, '')} by mail",
        "nudge": "nudged by mail",
        "followup": f"mailed follow-up #{followup_id}",
        "thank": "thanked by mail",
        "recover": "wrote to win them back",
    }[action.action]
    _event(conn, action, now=now, what=f"{what} (outbox {action.outbox_id}, template {action.template})")
    action.result = f"queued {action.outbox_id}"


def _close(conn: sqlite3.Connection, settings: Settings, action: Action, *, now: datetime) -> None:
    assert action.ticket_id is not None
    ticket = tickets.get_ticket(conn, action.ticket_id)
    tickets.close(conn, ticket, at=now, resolution=NO_REPLY)
    _event(conn, action, now=now, what=f"closed: {action.reason}")
    action.result = "closed"


def _event(conn: sqlite3.Connection, action: Action, *, now: datetime, what: str) -> None:
    detail: dict[str, str | int] = {"rule": action.rule, "action": action.action, "what": what}
    if action.outbox_id is not None:
        detail["outbox"] = action.outbox_id
    if action.survey:
        detail["survey"] = action.survey
    record_event(conn, "care", customer_id=action.customer_id, ticket_id=action.ticket_id, at=now, detail=detail)


# ---------------------------------------------------------------- answers to a survey

# The first whole number of the answer, not part of a decimal ("4.5") or a longer number. ASCII
# digits only, as in text/when.py: `\d` would also match other scripts' digits ("०").
_SCORE = re.compile(r"(?<![\d.,])(\d{1,2})(?![\d]|[.,]\d)", re.ASCII)
SCORE_LOOKS = 200  # characters of the answer's new part searched for the score


def read_score(text: str, kind: str) -> int | None:
    """The score in a customer's answer to a survey question ("4", "5 - thanks!", "I'd say 9"):
    the first whole number near the top, when it is on the survey's scale; else None."""
    found = _SCORE.search(text[:SCORE_LOOKS])
    if found is None:
        return None
    score = int(found.group(1))
    low, high = surveys.RANGES[kind]
    return score if low <= score <= high else None


def survey_asked(conn: sqlite3.Connection, ticket_id: int, thread_ids: list[str]) -> dict | None:
    """The survey question a message on `ticket_id` answers: the latest one asked on the ticket
    (as {'survey', 'at', 'answers_it'}), where `answers_it` says the message's headers name it."""
    row = conn.execute(
        """SELECT e.at, json_extract(e.detail, '$.survey') AS survey, o.message_id FROM events e
           LEFT JOIN outbox o ON o.id = json_extract(e.detail, '$.outbox')
           WHERE e.ticket_id = ? AND e.kind = 'care' AND e.voided_by IS NULL
             AND json_extract(e.detail, '$.action') = 'csat'
           ORDER BY e.at DESC, e.id DESC LIMIT 1""",
        (ticket_id,),
    ).fetchone()
    if row is None or row["survey"] not in surveys.RANGES:
        return None
    return {"survey": row["survey"], "at": row["at"], "answers_it": row["message_id"] in thread_ids}


def record_answer(
    conn: sqlite3.Connection, ticket: sqlite3.Row, kind: str, score: int, comment: str, *, at: datetime
) -> sqlite3.Row:
    """The customer's score, as `survey csat|nps|ces` records it (NPS belongs to the customer)."""
    return surveys.record(
        conn,
        kind,
        score,
        at=at,
        customer_id=ticket["customer_id"],
        ticket_id=ticket["id"] if kind in surveys.PER_TICKET else None,
        comment=comment[:500],
    ).survey
