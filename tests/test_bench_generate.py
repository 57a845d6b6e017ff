"""carecli.demo.bulk (bench/generate.py) writes a history the domain could have written: consistent, realistic, repeatable."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from carecli.demo import bulk as generator
from carecli.schema import database
from tests.conftest import database_digest

ROOT = Path(__file__).resolve().parent.parent
TICKETS = 4000


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    path = tmp_path_factory.mktemp("generated") / "history.db"
    counts = generator.generate(path, TICKETS, seed=3, settings=_settings())
    conn = sqlite3.connect(path)
    yield conn, counts, path
    conn.close()


def _settings():
    from carecli.core import config

    return config.load(env={"CARECLI_TIMEZONE": "Europe/Berlin"})


def scalar(conn, sql: str):
    return conn.execute(sql).fetchone()[0]


def test_sizes_follow_the_ticket_count(history):
    conn, counts, _ = history
    assert counts["tickets"] == TICKETS and counts["customers"] == TICKETS // 20
    assert 2.8 <= counts["interactions"] / TICKETS <= 3.6
    assert TICKETS // 5 <= counts["followups"] <= TICKETS // 5 * 1.05
    closed = scalar(conn, "SELECT count(*) FROM tickets WHERE status = 'closed'")
    csat = scalar(conn, "SELECT count(*) FROM surveys WHERE kind = 'csat'")
    assert 0.25 <= csat / closed <= 0.35
    assert scalar(conn, "SELECT count(*) FROM surveys WHERE kind = 'ces'") > 0
    assert scalar(conn, "SELECT count(*) FROM surveys WHERE kind = 'nps'") > 0
    assert scalar(conn, "SELECT count(*) FROM customers WHERE lost_at IS NOT NULL") > 0


def test_the_database_is_sound_and_uses_the_real_schema(history):
    conn, _, path = history
    assert scalar(conn, "PRAGMA integrity_check") == "ok"
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    assert scalar(conn, "PRAGMA journal_mode") == "wal"
    opened = database.connect(path)
    assert database.pending_migrations(opened) == []
    opened.close()


def test_ticket_fields_agree_with_timestamps_and_events(history):
    conn, _, _ = history
    seconds = "CAST(strftime('%s', {}) AS INTEGER)"
    broken = {
        "first_response_s": f"first_response_s IS NOT {seconds.format('first_response_at')} - {seconds.format('created_at')}",
        "first_resolution_s": f"first_resolution_s IS NOT {seconds.format('first_closed_at')} - {seconds.format('created_at')}",
        "resolution_s": f"resolution_s IS NOT {seconds.format('closed_at')} - {seconds.format('created_at')}",
        "closed status": "(status = 'closed') <> (closed_at IS NOT NULL AND closed_at = updated_at)",
        "reopens": "reopen_count <> (SELECT count(*) FROM events e WHERE e.ticket_id = tickets.id AND kind = 'reopened')",
        "replies": "reply_count <> (SELECT count(*) FROM interactions i WHERE i.ticket_id = tickets.id AND direction = 'out')",
        "first reply event": "first_response_at IS NOT (SELECT min(at) FROM events e WHERE e.ticket_id = tickets.id AND kind = 'replied-first')",
        "opened event": "created_at IS NOT (SELECT at FROM events e WHERE e.ticket_id = tickets.id AND kind = 'opened')",
        "last close": "closed_at IS NOT (SELECT max(at) FROM events e WHERE e.ticket_id = tickets.id AND kind = 'closed')",
        "order": "first_response_at < created_at OR closed_at < first_closed_at OR updated_at < created_at",
    }
    for rule, condition in broken.items():
        assert scalar(conn, f"SELECT count(*) FROM tickets WHERE {condition}") == 0, rule


def test_times_use_the_stored_format_and_end_at_the_fixed_end(history):
    conn, _, _ = history
    end = generator.DEFAULT_END
    for table, column in [
        ("tickets", "created_at"),
        ("tickets", "updated_at"),
        ("interactions", "at"),
        ("events", "at"),
        ("surveys", "at"),
        ("customers", "created_at"),
    ]:
        assert (
            scalar(
                conn,
                f"SELECT count(*) FROM {table} WHERE {column} NOT GLOB "
                "'[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]+00:00'",
            )
            == 0
        )
        assert scalar(conn, f"SELECT max({column}) FROM {table}") < end, (table, column)


def test_few_tickets_are_still_open_and_those_mostly_recent(history):
    conn, _, _ = history
    active = scalar(conn, "SELECT count(*) FROM tickets WHERE status <> 'closed'")
    assert 0.005 * TICKETS <= active <= 0.03 * TICKETS
    recent = scalar(conn, "SELECT count(*) FROM tickets WHERE status <> 'closed' AND created_at >= '2026-02-14'")
    assert recent >= 0.6 * active
    month = scalar(conn, "SELECT count(*) FROM tickets WHERE created_at >= '2026-02-12T10:00:00+00:00'")
    assert 0.6 / 36 <= month / TICKETS <= 1.4 / 36


def test_followups_have_every_status_and_recurring_chains(history):
    conn, _, _ = history
    statuses = dict(conn.execute("SELECT status, count(*) FROM followups GROUP BY status").fetchall())
    assert set(statuses) == {"scheduled", "done", "skipped"}
    overdue = scalar(
        conn, f"SELECT count(*) FROM followups WHERE status = 'scheduled' AND due_at < '{generator.DEFAULT_END}'"
    )
    assert overdue > 0
    assert scalar(conn, "SELECT count(*) FROM followups WHERE previous_id IS NOT NULL AND recurrence IS NOT NULL") > 0
    done_without_contact = scalar(
        conn,
        "SELECT count(*) FROM followups f WHERE status = 'done' AND NOT EXISTS "
        "(SELECT 1 FROM interactions i WHERE i.followup_id = f.id)",
    )
    assert done_without_contact == 0


def test_the_same_seed_gives_the_same_database(tmp_path):
    first, second = tmp_path / "a.db", tmp_path / "b.db"
    generator.generate(first, 300, seed=9, settings=_settings())
    generator.generate(second, 300, seed=9, settings=_settings())
    assert _data(first) == _data(second)  # (the migrations table records when it ran)


def _data(path: Path) -> dict[str, list]:
    conn = sqlite3.connect(path)
    try:
        return {table: conn.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall() for table in generator.WRITERS}
    finally:
        conn.close()


def test_a_database_with_data_is_refused(tmp_path):
    path = tmp_path / "a.db"
    generator.generate(path, 100, settings=_settings())
    before = database_digest(path)
    with pytest.raises(SystemExit, match="already holds data"):
        generator.generate(path, 100, settings=_settings())
    assert database_digest(path) == before


def test_done_follow_ups_carry_on_time_as_the_domain_decides_it(history):
    from carecli.records.followups import is_on_time
    from carecli.text.clock import from_db

    conn, _, _ = history
    tz = _settings().tz
    done = conn.execute("SELECT due_at, completed_at, on_time FROM followups WHERE status = 'done'").fetchall()
    assert done and {row[2] for row in done} == {0, 1}
    assert all(row[2] == is_on_time(row[0], from_db(row[1]), tz) for row in done)
    assert scalar(conn, "SELECT count(*) FROM followups WHERE status <> 'done' AND on_time IS NOT NULL") == 0


def test_orders_come_about_one_per_five_tickets_with_lines_and_repeat_buyers(history):
    conn, counts, _ = history
    assert 0.12 <= counts["orders"] / TICKETS <= 0.3  # 200 customers: habits vary (tighter below)
    assert 1.2 <= counts["order_lines"] / counts["orders"] <= 1.8
    per_customer = dict(conn.execute("SELECT customer_id, count(*) FROM orders GROUP BY 1").fetchall())
    customers = TICKETS // 20
    assert 0.6 <= len(per_customer) / customers <= 0.85  # a quarter or so never order
    once = sum(1 for n in per_customer.values() if n == 1)
    regulars = sum(1 for n in per_customer.values() if n >= 3)
    assert once > 0.2 * len(per_customer) and regulars > 0.3 * len(per_customer)
    # A total is the sum of its lines' amounts, or unknown when the lines have none.
    mismatched = scalar(
        conn,
        "SELECT count(*) FROM orders o WHERE o.total IS NOT "
        "(SELECT round(sum(l.amount), 2) FROM order_lines l WHERE l.order_id = o.id)",
    )
    assert (
        mismatched == 0 and 0 < scalar(conn, "SELECT count(*) FROM orders WHERE total IS NULL") < 0.1 * counts["orders"]
    )
    # Orders come in time order, each after its customer was created and, if lost, before that.
    assert (
        scalar(conn, "SELECT count(*) FROM orders a JOIN orders b ON b.id = a.id + 1 WHERE b.ordered_at < a.ordered_at")
        == 0
    )
    wrong_time = scalar(
        conn,
        "SELECT count(*) FROM orders o JOIN customers c ON c.id = o.customer_id "
        "WHERE o.ordered_at < c.created_at OR o.ordered_at >= coalesce(c.lost_at, '9999')",
    )
    assert wrong_time == 0
    assert scalar(conn, "SELECT max(ordered_at) FROM orders") < generator.DEFAULT_END
    assert scalar(conn, "SELECT count(DISTINCT product) FROM order_lines") == len(generator.PRODUCTS)


def test_silent_buyers_and_repeat_purchases_are_there_to_be_found(history):
    from carecli.measure import loyalty
    from carecli.text.clock import from_db

    _, _, path = history
    conn = database.connect(path)
    try:
        buyers = loyalty.silent_buyers(conn, _settings(), now=from_db(generator.DEFAULT_END))
    finally:
        conn.close()
    assert 0 < len(buyers) < 0.2 * (TICKETS // 20)


def test_orders_can_be_added_to_a_database_generated_without_them(tmp_path):
    path = tmp_path / "a.db"
    generator.generate(path, 300, seed=4, settings=_settings())
    before = _data(path)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("DELETE FROM order_lines")
        conn.execute("DELETE FROM orders")
    conn.close()
    added = generator.add_orders(path, seed=4)
    assert _data(path) == before  # the same orders, from the same customers and seed
    assert added["orders"] == len(before["orders"]) > 0
    with pytest.raises(SystemExit, match="already holds orders"):
        generator.add_orders(path, seed=4)


def test_a_million_tickets_get_about_200_000_orders():
    """The order stream alone for the customers of 1M tickets (50,000, created over four years)."""
    from carecli.text.clock import from_db

    end = int(from_db(generator.DEFAULT_END).timestamp())
    first = end - 4 * 365 * generator.DAY
    customers = [(cid, first + (cid - 1) * (end - first) // 50_000, None) for cid in range(1, 50_001)]
    stamp = generator.Stamp(first - 30 * generator.DAY, end + 400 * generator.DAY)
    orders, lines = generator.OrderHistory(seed=1, end=end, stamp=stamp).rows(customers)
    assert 180_000 <= len(orders) <= 220_000 and 1.2 <= len(lines) / len(orders) <= 1.8
