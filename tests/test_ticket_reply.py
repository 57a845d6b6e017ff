"""records.tickets.reply hands a ticket to the customer."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from carecli.core import config
from carecli.core.errors import ConfigError
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
    assert tickets.reply(conn, settings, ticket, "on it", at=at("2026-03-10 10:00"))["status"] == "open"
    assert events(conn, ticket["id"]) == ["opened", "replied-first"]


def test_after_reply_is_pending_or_open_and_names_itself_when_wrong():
    assert config.load(None, env={})["tickets.after_reply"] == "pending"
    assert config.load(None, env={"CARECLI_TICKETS_AFTER_REPLY": " Open "})["tickets.after_reply"] == "open"
    with pytest.raises(ConfigError, match="'tickets.after_reply' must be 'pending' or 'open', not 'later'"):
        config.load(None, env={"CARECLI_TICKETS_AFTER_REPLY": "later"})
