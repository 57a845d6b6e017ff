"""Care plans in records/plans.py: which steps are scheduled for which orders and assets, on
which day, never twice; and the config's [[care.plans]] checks."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from carecli.core import config, store
from carecli.core.errors import ConfigError
from carecli.records import assets, customers, followups, orders, plans
from carecli.records.orders import Line
from carecli.schema import database
from carecli.text.clock import from_db

NOW = datetime(2026, 3, 14, 10, tzinfo=timezone.utc)  # 11:00 in Berlin
PLANS = """
timezone = "Europe/Berlin"
[care]
plans_backfill_days = 30
[[care.plans]]
name = "orchid-tips"
products = ["orchid*", "PHALAENOPSIS"]
[[care.plans.steps]]
after = "7d"
kind = "tip"
note = "Water your orchid once a week"
template = "tip"
[[care.plans.steps]]
every = "1 month"
kind = "tip"
note = "Feed it"
[[care.plans]]
name = "bike-service"
products = ["*bike*"]
asset = true
[[care.plans.steps]]
every = "6 months"
kind = "service-reminder"
"""


def load(tmp_path, text: str = PLANS) -> config.Settings:
    path = tmp_path / "plans.toml"
    path.write_text(text)
    return config.load(path, env={})


@pytest.fixture
def env(db_path, tmp_path):
    conn = database.connect(db_path, create=True)
    with store.transaction(conn):
        ada = customers.add_customer(conn, "Ada Lovelace", at=datetime(2020, 1, 1, tzinfo=timezone.utc))
    yield conn, ada["id"], load(tmp_path)
    conn.close()


def order(conn, customer_id, *products, at, now=NOW):
    return orders.add_order(conn, customer_id=customer_id, lines=[Line(p) for p in products], ordered_at=at, now=now)


def berlin_day(due_at: str) -> str:
    return from_db(due_at).astimezone(ZoneInfo("Europe/Berlin")).date().isoformat()


def plan_followups(conn):
    return conn.execute(
        "SELECT plan, plan_step, kind, note, template, due_at, recurrence, order_id, asset_id, source, all_day"
        " FROM followups WHERE plan IS NOT NULL ORDER BY id"
    ).fetchall()


# ---------------------------------------------------------------- config


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('[[care.plans]]\nproducts = ["x"]\n', "plan 1: a plan needs a name"),
        ('[[care.plans]]\nname = "a"\n[[care.plans.steps]]\nafter = "7d"\nkind = "tip"\n', "plan 1 ('a'): products"),
        ('[[care.plans]]\nname = "a"\nproducts = ["x"]\n', "plan 1 ('a'): a plan needs [[care.plans.steps]]"),
        (
            '[[care.plans]]\nname = "a"\nproducts = ["x"]\n[[care.plans.steps]]\nkind = "tip"\n',
            "plan 1 ('a'), step 1: give exactly one of after (a one-off step) or every (a cadence)",
        ),
        (
            '[[care.plans]]\nname = "a"\nproducts = ["x"]\n[[care.plans.steps]]\nafter = "7d"\nevery = "monthly"\nkind = "tip"\n',
            "step 1: give exactly one of after",
        ),
        (
            '[[care.plans]]\nname = "a"\nproducts = ["x"]\n[[care.plans.steps]]\nafter = "7d"\nkind = "tip"\n'
            '[[care.plans.steps]]\nevery = "every blue moon"\nkind = "tip"\n',
            "plan 1 ('a'), step 2: every: cannot read",
        ),
        (
            '[[care.plans]]\nname = "a"\nproducts = ["x"]\n[[care.plans.steps]]\nafter = "soon"\nkind = "tip"\n',
            "plan 1 ('a'), step 1: after:",
        ),
        (
            '[[care.plans]]\nname = "a"\nproducts = ["x"]\n[[care.plans.steps]]\nafter = "7d"\nkind = "party"\n',
            "plan 1 ('a'), step 1: kind must be a follow-up kind, not 'party'",
        ),
        (
            '[[care.plans]]\nname = "a"\nproducts = ["x"]\n[[care.plans.steps]]\nafter = "7d"\n',
            "step 1: kind must be a follow-up kind",
        ),
        (
            '[[care.plans]]\nname = "a"\nproducts = ["x"]\nasset = "yes"\n[[care.plans.steps]]\nafter = "7d"\nkind = "tip"\n',
            "plan 1 ('a'): asset must be true or false",
        ),
        (
            '[[care.plans]]\nname = "a"\nproducts = ["x"]\n[[care.plans.steps]]\nafter = "7d"\nkind = "tip"\n'
            '[[care.plans]]\nname = "a"\nproducts = ["y"]\n[[care.plans.steps]]\nafter = "7d"\nkind = "tip"\n',
            "plan 2 ('a'): two plans are named 'a'",
        ),
        (
            '[[care.plans]]\nname = "a"\nproducts = ["x"]\n[[care.plans.steps]]\nafter = "7d"\nkind = "tip"\nwhen = "x"\n',
            "step 1: unknown field 'when'",
        ),
        ('[[care.plans]]\nname = "a"\nproducts = ["x"]\nservice = 1\n', "plan 1: unknown field 'service'"),
        ("[care]\nplans_backfill_days = -1\n", "'care.plans_backfill_days' must be from 0"),
    ],
)
def test_a_bad_plan_is_a_one_line_error_naming_the_plan_and_step(tmp_path, text, error):
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, text)
    assert error in str(raised.value) and "\n" not in str(raised.value)


def test_plans_are_read_with_their_steps_numbered_and_globs_folded(tmp_path):
    settings = load(tmp_path)
    orchid, bike = settings["care.plans"]
    assert orchid["products"] == ["orchid*", "phalaenopsis"] and orchid["asset"] is False
    assert [(s["number"], s["after"], s["every"], s["kind"]) for s in orchid["steps"]] == [
        (1, "7d", "", "tip"),
        (2, "", "1 month", "tip"),
    ]
    assert bike["asset"] is True and bike["steps"][0]["template"] == ""
    assert settings["care.plans_backfill_days"] == 30


# ---------------------------------------------------------------- one-off steps and the backfill


def test_a_one_off_step_is_due_after_the_purchase_in_the_plans_terms(env):
    conn, ada, settings = env
    with store.transaction(conn):
        added = order(conn, ada, "Orchid Phalaenopsis", "Pot", at=datetime(2026, 3, 12, 15, tzinfo=timezone.utc))
        found = plans.schedule_for_orders(conn, [added.order_id], now=NOW, settings=settings)
    rows = plan_followups(conn)
    tip = rows[0]
    assert (tip["plan"], tip["plan_step"], tip["kind"], tip["order_id"], tip["asset_id"]) == (
        "orchid-tips",
        1,
        "tip",
        added.order_id,
        None,
    )
    assert (tip["note"], tip["template"], tip["source"], tip["all_day"]) == (
        "Water your orchid once a week",
        "tip",
        "plan",
        1,
    )
    assert berlin_day(tip["due_at"]) == "2026-03-19" and tip["recurrence"] is None
    assert [p.followup_id for p in found.followups] == [
        r[0] for r in conn.execute("SELECT id FROM followups ORDER BY id")
    ]


def test_a_past_step_within_the_backfill_is_due_today_and_an_older_one_is_not_scheduled(env):
    conn, ada, settings = env
    with store.transaction(conn):
        recent = order(conn, ada, "orchid", at=datetime(2026, 2, 20, tzinfo=timezone.utc))  # tip was due 27 Feb
        old = order(conn, ada, "orchid", at=datetime(2026, 1, 20, tzinfo=timezone.utc))  # due 27 Jan: 46 days ago
        found = plans.schedule_for_orders(conn, [recent.order_id, old.order_id], now=NOW, settings=settings, tally=True)
    one_offs = [p for p in found.followups if p.step == 1]
    assert [(p.order_id, berlin_day(p.due_at)) for p in one_offs] == [(recent.order_id, "2026-03-14")]
    assert "was due 2026-02-27, scheduled for today" in one_offs[0].reason
    tally = next(t for t in found.tallies if t.plan == "orchid-tips" and t.step == 1)
    assert (tally.matched, tally.scheduled, tally.to_schedule, tally.too_old) == (2, 0, 1, 1)


def test_products_match_their_globs_whatever_the_case_and_other_products_match_nothing(env):
    conn, ada, settings = env
    with store.transaction(conn):
        pot = order(conn, ada, "Pot", "Orchard ladder", at=NOW)
        upper = order(conn, ada, "ORCHIDÉE blanche", at=NOW)
        named = order(conn, ada, "phalaenopsis", at=NOW)
        plans.schedule_for_orders(conn, pot.order_id, now=NOW, settings=settings)
    ordered = {row["order_id"] for row in plan_followups(conn)}
    assert ordered == {upper.order_id, named.order_id}


# ---------------------------------------------------------------- cadences and services


def test_a_cadence_step_of_an_order_is_its_next_occurrence_after_now_and_repeats(env):
    conn, ada, settings = env
    with store.transaction(conn):
        added = order(conn, ada, "orchid", at=datetime(2025, 11, 5, 9, tzinfo=timezone.utc))
        plans.schedule_for_orders(conn, [added.order_id], now=NOW, settings=settings)
    feed = next(row for row in plan_followups(conn) if row["plan_step"] == 2)
    assert berlin_day(feed["due_at"]) == "2026-04-05" and "FREQ=MONTHLY" in feed["recurrence"]
    # Done, the series goes on under the same plan and step, for the same order.
    with store.transaction(conn):
        row = conn.execute("SELECT id FROM followups WHERE plan_step = 2").fetchone()
        done = followups.complete(
            conn, settings, followups.get_followup(conn, row[0]), at=datetime(2026, 4, 5, 9, tzinfo=timezone.utc)
        )
    assert done.next_followup is not None
    nxt = done.next_followup
    assert (nxt["plan"], nxt["plan_step"], nxt["order_id"], berlin_day(nxt["due_at"])) == (
        "orchid-tips",
        2,
        added.order_id,
        "2026-05-05",
    )


def test_a_bike_sold_makes_an_asset_whose_reminder_counts_from_the_purchase(env):
    conn, ada, settings = env
    with store.transaction(conn):
        added = order(conn, ada, "City Bike", "Bell", at=datetime(2025, 6, 1, 12, tzinfo=timezone.utc))
        found = plans.schedule_for_orders(conn, [added.order_id], now=NOW, settings=settings)
    (bike,) = assets.list_assets(conn)
    assert (bike["name"], bike["plan"], bike["order_line_id"], bike["since"]) == (
        "City Bike",
        "bike-service",
        added.line_ids[0],
        "2025-06-01T12:00:00+00:00",
    )
    (reminder,) = [row for row in plan_followups(conn) if row["plan"] == "bike-service"]
    assert reminder["asset_id"] == bike["id"] and reminder["order_id"] is None
    assert berlin_day(reminder["due_at"]) == "2026-06-01"  # 1 Dec 2025 is past; the next is June
    assert [a.asset_id for a in found.assets] == [bike["id"]]


def test_an_asset_reminder_counts_from_its_last_service_and_a_late_service_moves_it(env):
    conn, ada, settings = env
    with store.transaction(conn):
        bike = assets.add_asset(
            conn,
            customer_id=ada,
            name="City bike",
            since=datetime(2025, 6, 1, tzinfo=timezone.utc),
            now=NOW,
            plan="bike-service",
        )
        assets.record_service(conn, bike, serviced_at=datetime(2026, 1, 20, 9, tzinfo=timezone.utc), now=NOW)
        plans.schedule_for_asset(conn, bike, now=NOW, settings=settings)
    (reminder,) = plan_followups(conn)
    assert berlin_day(reminder["due_at"]) == "2026-07-20"  # six months after the service, not after June
    # Serviced late, on 5 August: the next reminder is six months after that service.
    later = datetime(2026, 8, 5, 15, tzinfo=timezone.utc)
    with store.transaction(conn):
        assets.record_service(conn, bike, serviced_at=later, now=later)
        moved = plans.after_service(conn, settings, bike, now=later)
    assert [berlin_day(row["due_at"]) for row in moved] == ["2027-02-05"]
    (reminder,) = plan_followups(conn)
    assert berlin_day(reminder["due_at"]) == "2027-02-05" and "BYMONTHDAY=5" in reminder["recurrence"]
    change = conn.execute("SELECT from_due, to_due FROM followup_due_changes").fetchone()
    assert berlin_day(change["from_due"]) == "2026-07-20" and berlin_day(change["to_due"]) == "2027-02-05"


def test_a_service_moves_nothing_for_an_asset_without_a_plan_reminder(env):
    conn, ada, settings = env
    with store.transaction(conn):
        pot = assets.add_asset(
            conn, customer_id=ada, name="Pot", since=datetime(2025, 6, 1, tzinfo=timezone.utc), now=NOW
        )
        assets.record_service(conn, pot, serviced_at=NOW, now=NOW)
        assert plans.after_service(conn, settings, pot, now=NOW) == []


# ---------------------------------------------------------------- never twice


def test_scheduling_again_schedules_nothing_and_makes_no_second_asset(env):
    conn, ada, settings = env
    with store.transaction(conn):
        order(conn, ada, "orchid", "Road bike", at=datetime(2026, 3, 10, tzinfo=timezone.utc))
        first = plans.schedule(conn, settings, now=NOW)
        again = plans.schedule(conn, settings, now=NOW + timedelta(days=40), tally=True)
    assert len(first.followups) == 3 and len(first.assets) == 1
    assert again.followups == [] and again.assets == []
    assert {(t.plan, t.step): t.scheduled for t in again.tallies} == {
        ("orchid-tips", 1): 1,
        ("orchid-tips", 2): 1,
        ("bike-service", 1): 1,
    }


def test_a_follow_up_done_or_skipped_is_not_scheduled_again(env):
    conn, ada, settings = env
    with store.transaction(conn):
        order(conn, ada, "orchid", at=datetime(2026, 3, 10, tzinfo=timezone.utc))
        plans.schedule(conn, settings, now=NOW)
        for row in conn.execute("SELECT id FROM followups").fetchall():
            followups.skip(conn, settings, followups.get_followup(conn, row[0]), at=NOW, stop=True)
        assert plans.schedule(conn, settings, now=NOW).followups == []


product_names = st.sampled_from(["orchid", "Orchid XL", "pot", "City bike", "soil", "phalaenopsis", "e-bike"])


@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(st.lists(product_names, min_size=1, max_size=3), st.integers(min_value=-400, max_value=60)),
        min_size=1,
        max_size=6,
    ),
    st.booleans(),
)
def test_each_step_is_scheduled_at_most_once_for_each_order_or_asset_whatever_the_runs(env, bought, by_min_id):
    conn, ada, settings = env
    with store.transaction(conn):
        first_id = None
        for products, days_ago in bought:
            added = order(conn, ada, *products, at=NOW - timedelta(days=days_ago))
            first_id = first_id or added.order_id
        assert first_id is not None
        if by_min_id:
            plans.schedule_for_orders(conn, first_id, now=NOW, settings=settings)
        else:
            plans.schedule_for_orders(conn, list(range(first_id, first_id + len(bought))), now=NOW, settings=settings)
        assert plans.schedule(conn, settings, now=NOW).followups == []  # the catch-up finds nothing left
    keys = conn.execute(
        "SELECT plan, plan_step, order_id, asset_id, count(*) AS n FROM followups WHERE plan IS NOT NULL"
        " GROUP BY 1, 2, 3, 4 HAVING n > 1"
    ).fetchall()
    assert keys == []
    lines = conn.execute(
        "SELECT order_line_id, count(*) FROM assets WHERE order_line_id IS NOT NULL GROUP BY 1 HAVING count(*) > 1"
    ).fetchall()
    assert lines == []
    for row in plan_followups(conn):
        assert berlin_day(row["due_at"]) >= "2026-03-14"  # nothing scheduled into the past
        assert (row["order_id"] is None) != (row["asset_id"] is None)


def test_pending_writes_nothing(env):
    conn, ada, settings = env
    with store.transaction(conn):
        order(conn, ada, "orchid", "City bike", at=datetime(2026, 3, 10, tzinfo=timezone.utc))
    before = conn.total_changes
    found = plans.pending(conn, settings, now=NOW)
    assert found.tallies == []  # counted only when asked: tally=True
    assert len(found.followups) == 3 and len(found.assets) == 1 and found.assets[0].asset_id is None
    assert conn.total_changes == before
    assert conn.execute("SELECT count(*) FROM followups").fetchone()[0] == 0


def test_anchors_on_one_series_share_its_next_occurrence_and_clamped_days_do_not(env):
    conn, ada, settings = env
    since = ["2024-03-05", "2025-03-05", "2025-09-05", "2025-08-31", "2026-02-28", "2025-02-28"]
    with store.transaction(conn):
        for day in since:
            at = datetime.fromisoformat(day).replace(hour=12, tzinfo=timezone.utc)
            assets.add_asset(conn, customer_id=ada, name="bike", since=at, now=NOW, plan="bike-service")
        plans.schedule(conn, settings, now=NOW)
    due = [berlin_day(row["due_at"]) for row in plan_followups(conn)]
    assert due == ["2026-09-05", "2026-09-05", "2026-09-05", "2026-08-31", "2026-08-28", "2026-08-28"]
