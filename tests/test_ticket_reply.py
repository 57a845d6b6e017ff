"""records.tickets.reply hands a ticket to the customer; the agenda and health read what it wrote."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from carecli.core import config
from carecli.core.errors import ConfigError
from carecli.measure.agenda import build_agenda
from carecli.measure.health import health
from carecli.records import customers, tickets
from carecli.schema import database


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


@pytest.fixture
def opened(db_path):
    conn = database.connect(db_path, create=True)
    settings = config.load(None, env={})
    who = customers.add_customer(conn, "Ada", at=at("2026-03-01 09:00"))
    ticket = tickets.open_ticket(
        conn, settings, customer_id=who["id"], subject="Vase", message="cracked", at=at("2026-03-10 09:00")
    )
    yield conn, settings, ticket
    conn.close()


def events(conn, ticket_id: int) -> list[str]:
    return [row[0] for row in conn.execute("SELECT kind FROM events WHERE ticket_id = ? ORDER BY at, id", (ticket_id,))]


def test_reply_with_pending_sets_an_open_ticket_pending_through_its_event(opened):
    conn, settings, ticket = opened
    row = tickets.reply(conn, settings, ticket, "on it", at=at("2026-03-10 10:00"), pending=True)
    assert row["status"] == "pending" and row["reply_count"] == 1
    assert events(conn, ticket["id"]) == ["opened", "replied-first", "pending"]
    again = tickets.reply(conn, settings, row, "still on it", at=at("2026-03-10 11:00"), pending=True)
    assert again["status"] == "pending" and events(conn, ticket["id"]) == ["opened", "replied-first", "pending"]


def test_reply_without_pending_changes_no_status(opened):
    conn, settings, ticket = opened
    assert tickets.reply(conn, settings, ticket, "on it", at=at("2026-03-10 10:00"), pending=False)["status"] == "open"
    assert events(conn, ticket["id"]) == ["opened", "replied-first"]


def test_after_reply_is_pending_or_open_and_names_itself_when_wrong():
    assert config.load(None, env={})["tickets.after_reply"] == "pending"
    assert config.load(None, env={"CARECLI_TICKETS_AFTER_REPLY": " Open "})["tickets.after_reply"] == "open"
    with pytest.raises(ConfigError, match="'tickets.after_reply' must be 'pending' or 'open', not 'later'"):
        config.load(None, env={"CARECLI_TICKETS_AFTER_REPLY": "later"})


def test_the_agenda_waits_from_the_oldest_message_after_our_reply(opened):
    conn, settings, ticket = opened
    row = tickets.reply(conn, settings, ticket, "which vase?", at=at("2026-03-11 09:00"), pending=True)
    tickets.inbound(conn, settings, row, "the blue one", at=at("2026-03-12 09:00"))
    tickets.inbound(conn, settings, tickets.get_ticket(conn, ticket["id"]), "hello?", at=at("2026-03-13 09:00"))
    now = at("2026-03-14 09:00")
    [waiting] = build_agenda(conn, settings, day=date(2026, 3, 14), now=now)["waiting_on_us"]
    assert waiting["waiting_since"] == "2026-03-12T09:00:00+00:00" and waiting["waiting_s"] == 2 * 86400
    assert waiting["age_s"] == 4 * 86400  # the ticket's own age is still there


def test_health_staleness_reads_the_latest_message_or_status_change(opened):
    conn, settings, ticket = opened
    stale = lambda now: health(conn, settings, now=now, customer_id=ticket["customer_id"])[0]  # noqa: E731
    factors = {f["factor"] for f in stale(at("2026-03-14 09:00"))["factors"]}
    assert "stale_tickets" in factors  # nothing since the opening 4 days ago
    tickets.note(conn, settings, ticket, "asked the supplier", at=at("2026-03-13 09:00"))
    assert "stale_tickets" in {f["factor"] for f in stale(at("2026-03-14 09:00"))["factors"]}  # a note is not seen
    tickets.inbound(conn, settings, ticket, "any news?", at=at("2026-03-13 10:00"))
    assert "stale_tickets" not in {f["factor"] for f in stale(at("2026-03-14 09:00"))["factors"]}
