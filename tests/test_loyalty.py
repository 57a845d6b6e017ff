"""The loyalty block of `kpi` (docs/metrics.md, "Loyalty") on a hand-made week, every figure worked
out below; as of the week's end; per product; and repeat/returning against a naive recount."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone

import hypothesis
import pytest
from hypothesis import strategies as st

WEEK = ("--since", "2026-03-02", "--until", "2026-03-08")  # Mon..Sun in Berlin: [Mar 1 23:00Z, Mar 8 23:00Z)
GRACE = "[care]\nservice_grace_days = 3\n"


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "care.toml"
    path.write_text(GRACE)
    return path


@pytest.fixture
def week(run, db_path, config):
    def go(*args):
        return run("--config", str(config), *args, ok=True)

    for name in ("Ada", "Ben", "Cleo", "Dan", "Eve"):
        go("customer", "add", name, "--at", "2025-06-01")
    # Ada ordered in January and again in the week: returning, not a first-time buyer.
    go("order", "add", "ada", "--item", "Orchid @20", "--at", "2026-01-10 10:00")
    go("order", "add", "ada", "--item", "Orchid @30", "--at", "2026-03-03 10:00")
    # Ben's first order in the week (15), a second two days later (10): a repeat.
    go("order", "add", "ben", "--item", "Vase @10", "--item", "Orchid @5", "--at", "2026-03-04 10:00")
    go("order", "add", "ben", "--item", "Vase @10", "--at", "2026-03-06 10:00")
    # Cleo's first order in the week (12), nothing more by its end.
    go("order", "add", "cleo", "--item", "Tulips @12", "--at", "2026-03-05 10:00")
    # Dan ordered in October and in the week, that one without a price: returning, no revenue.
    go("order", "add", "dan", "--item", "Pot @8", "--at", "2025-10-01 10:00")
    go("order", "add", "dan", "--item", "Pot", "--at", "2026-03-07 10:00")
    # Eve only after the week.
    go("order", "add", "eve", "--item", "Orchid @25", "--at", "2026-03-10 10:00")
    # Unhappy in the week: Cleo (NPS 3, then her order the next day: recovered) and Ben (CSAT 2
    # after his last order of the week: not recovered by its end). Eve's NPS 9 is not unhappy.
    go("survey", "nps", "cleo", "3", "--at", "2026-03-04 12:00")
    go("ticket", "open", "ben", "Vase chipped", "--at", "2026-03-06 11:00")
    go("ticket", "close", "1", "--at", "2026-03-06 12:00", "--csat", "2")
    go("survey", "nps", "eve", "9", "--at", "2026-03-05 12:00")
    # Assets: Ben's bike (1), Dan's bike (2), Ada's mower (3), Cleo's bike (4).
    for who, what in (("ben", "Bike"), ("dan", "Bike"), ("ada", "Mower"), ("cleo", "Bike")):
        go("asset", "add", who, what, "--since", "2025-07-01")
    go("asset", "serviced", "2", "--at", "2026-03-01 11:00")  # 2 days before its reminder
    conn = sqlite3.connect(db_path)
    with conn:
        conn.executemany(
            "INSERT INTO followups (customer_id, kind, due_at, all_day, status, created_at, completed_at, on_time,"
            " plan, plan_step, asset_id) VALUES (?, ?, ?, ?, ?, '2026-02-01T00:00:00+00:00', ?, ?, ?, ?, ?)",
            [
                # Plan follow-ups: done on its due day (on time), done days late, still scheduled
                # past its due day (overdue); one not from a plan, overdue too, which does not count.
                (1, "tip", "2026-03-03T23:00:00+00:00", 1, "done", "2026-03-04T10:00:00+00:00", 1, "orchid-tips", 1, None),
                (2, "tip", "2026-03-04T23:00:00+00:00", 1, "done", "2026-03-07T10:00:00+00:00", 0, "orchid-tips", 1, None),
                (3, "tip", "2026-03-05T09:00:00+00:00", 0, "scheduled", None, None, "orchid-tips", 1, None),
                (4, "check-in", "2026-03-05T09:00:00+00:00", 0, "scheduled", None, None, None, None, None),
                # Service reminders (grace 3 days): Ben's bike, due Mar 2, serviced only after the
                # week: late at its end; Dan's bike, serviced 2 days before: on time; Ada's mower,
                # due Mar 7: still in its grace at the end, undecided; Cleo's bike: skipped.
                (2, "service-reminder", "2026-03-02T09:00:00+00:00", 0, "scheduled", None, None, "bike", 1, 1),
                (4, "service-reminder", "2026-03-03T09:00:00+00:00", 0, "scheduled", None, None, "bike", 1, 2),
                (1, "service-reminder", "2026-03-07T09:00:00+00:00", 0, "scheduled", None, None, "bike", 1, 3),
                (3, "service-reminder", "2026-03-04T09:00:00+00:00", 0, "skipped", "2026-03-04T10:00:00+00:00",
                 None, "bike", 1, 4),
            ],
        )  # fmt: skip
    conn.close()
    return go


EXPECTED = {
    # first-time buyers: Ben, Cleo; Ben ordered again
    "first_buyers": 2,
    "repeat_buyers": 1,
    "repeat_purchase_pct": 50.0,
    # buyers: Ada, Ben, Cleo, Dan; Ada and Dan had ordered before
    "buyers": 4,
    "returning_buyers": 2,
    "returning_customer_pct": 50.0,
    # 30 (Ada) + 15 + 10 (Ben) + 12 (Cleo); Dan's order has no total. Returning: Ada's 30 -> 30 / 67
    "revenue": 67.0,
    "returning_revenue": 30.0,
    "returning_revenue_pct": 44.78,
    # 3 tips and 4 service reminders, all from plans: 1 on time of 2 done + 4 overdue (the third
    # tip and the three reminders still scheduled past their due day; the skipped one is neither)
    "plan_followups_due": 7,
    "plan_followups_done": 2,
    "plan_followups_on_time": 1,
    "plan_followups_overdue": 4,
    "plan_on_time_pct": 16.67,
    # 4 due (the skipped one too); Dan's on time, Ben's late, Ada's undecided, Cleo's skipped
    "service_reminders_due": 4,
    "services_on_time": 1,
    "services_late": 1,
    "service_on_time_pct": 50.0,
    # Cleo and Ben unhappy; Cleo ordered after her answer
    "unhappy_customers": 2,
    "recovered_customers": 1,
    "recovered_pct": 50.0,
}


def _loyalty(run, config, *period: str) -> dict:
    return run.json("--config", str(config), "kpi", *(period or WEEK))["loyalty"]


def test_every_loyalty_figure_of_the_hand_made_week(week, run, config):
    assert _loyalty(run, config) == EXPECTED


def test_the_loyalty_figures_in_the_all_table_in_words_with_their_counts(week):
    out = week("kpi", *WEEK, "--all").stdout
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("First-time buyers "))
    assert lines[start:] == [
        "First-time buyers                    2",
        "First-time buyers who ordered again  1",
        "Repeat purchase                      50 % of 2",
        "Buyers                               4",
        "Returning buyers                     2",
        "Returning customers                  50 % of 4",
        "Order totals                         67.0",
        "Order totals from returning buyers   30.0",
        "Revenue from returning buyers        45 %",
        "Plan follow-ups due                  7",
        "Plan follow-ups done                 2",
        "Plan follow-ups done on time         1",
        "Plan follow-ups overdue              4",
        "Plan follow-ups on time              17 % of 6",
        "Service reminders due                4",
        "Services on time                     1",
        "Services late                        1",
        "Serviced on time                     50 % of 2",
        "Unhappy customers (CSAT/NPS)         2",
        "Unhappy customers who ordered again  1",
        "Recovered after a bad score          50 % of 2",
    ]


def test_work_after_the_week_changes_none_of_its_loyalty_figures(week, run, config, monkeypatch):
    before = run("--config", str(config), "kpi", *WEEK, "--format", "json", ok=True).stdout
    monkeypatch.setenv("CARECLI_NOW", "2026-04-20T12:00:00+00:00")
    # Cleo repeats and Ben recovers within the windows, Ben's bike is serviced, Ada's mower too,
    # the overdue plan tip is done: all after the week.
    week("order", "add", "cleo", "--item", "Tulips @12", "--at", "2026-03-20 10:00")
    week("order", "add", "ben", "--item", "Vase @10", "--at", "2026-03-10 10:00")
    week("asset", "serviced", "1", "--at", "2026-03-10 10:00")
    week("asset", "serviced", "3", "--at", "2026-03-09 10:00")
    week("followup", "done", "3", "--at", "2026-03-12 10:00")
    after = run("--config", str(config), "kpi", *WEEK, "--format", "json", ok=True).stdout
    assert json.loads(after)["loyalty"] == EXPECTED
    assert after == before  # byte for byte, every block
    # The month holding it all sees the later work: Cleo repeated, Ben recovered.
    month = _loyalty(run, config, "--since", "2026-03-01", "--until", "2026-03-31")
    assert (month["first_buyers"], month["repeat_buyers"]) == (3, 2)  # Ben, Cleo, Eve; Ben and Cleo
    assert (month["unhappy_customers"], month["recovered_customers"]) == (2, 2)


def test_the_repeat_window_and_the_grace_come_from_the_config(week, run, config):
    config.write_text("[care]\nrepeat_window_days = 1\n")  # Ben's second order came 2 days after
    figures = _loyalty(run, config)
    assert (figures["repeat_buyers"], figures["repeat_purchase_pct"]) == (0, 0.0)
    # Default grace, 14 days: Ben's bike is not late yet at the end of the week, only undecided.
    assert (figures["services_on_time"], figures["services_late"], figures["service_on_time_pct"]) == (1, 0, 100.0)


def test_a_period_without_orders_answers_or_reminders_has_null_shares_and_zero_counts(week, run, config):
    figures = _loyalty(run, config, "--since", "2024-01-01", "--until", "2024-01-31")
    shares = {key for key in figures if key.endswith("_pct")}
    assert shares == {
        "repeat_purchase_pct",
        "returning_customer_pct",
        "returning_revenue_pct",
        "plan_on_time_pct",
        "service_on_time_pct",
        "recovered_pct",
    }
    assert all(figures[key] is None for key in shares)
    assert all(value == 0 for key, value in figures.items() if key not in shares)


def test_kpi_by_product_gives_the_order_figures_per_product(week, run, config):
    groups = run.json("--config", str(config), "kpi", *WEEK, "--by", "product")
    by_name = {group["group"]: group["loyalty"] for group in groups}
    assert list(by_name) == ["Orchid", "Pot", "Tulips", "Vase"]  # most buyers first (2, then 1 each), then by name
    # Orchid: Ada (bought one in January: returning, 30) and Ben (first Orchid in the week, 5).
    assert by_name["Orchid"] == {
        "first_buyers": 1,
        "repeat_buyers": 0,
        "repeat_purchase_pct": 0.0,
        "buyers": 2,
        "returning_buyers": 1,
        "returning_customer_pct": 50.0,
        "revenue": 35.0,
        "returning_revenue": 30.0,
        "returning_revenue_pct": 85.71,
    }
    # Vase: Ben twice in the week: a first-time buyer of vases who bought one again.
    assert (by_name["Vase"]["first_buyers"], by_name["Vase"]["repeat_buyers"], by_name["Vase"]["revenue"]) == (
        1,
        1,
        20.0,
    )
    # Pot: Dan, returning, his line without an amount: no revenue, no share.
    assert by_name["Pot"]["returning_buyers"] == 1 and by_name["Pot"]["returning_revenue_pct"] is None
    table = week("kpi", *WEEK, "--by", "product").stdout.splitlines()
    assert table[1].split() == [
        "product",
        "buyers",
        "returning",
        "first-time",
        "repeat",
        "totals",
        "returning",
        "totals",
    ]
    assert table[3].split() == ["Orchid", "2", "50", "%", "1", "0", "%", "35.0", "86", "%"]


def test_kpi_by_product_without_orders_says_so(run):
    result = run("kpi", "--by", "product", ok=True)
    assert "no products ordered in this period" in result.stdout + result.stderr
    assert run.json("kpi", "--by", "product") == []


def test_other_groupings_keep_the_loyalty_block_overall(week, run, config):
    groups = run.json("--config", str(config), "kpi", *WEEK, "--by", "channel")
    assert groups and all(group["loyalty"] == EXPECTED for group in groups)


# ---------------------------------------------------------------- against a naive recount

START = datetime(2026, 1, 1, tzinfo=timezone.utc)
_BASE: list = []


def _database(tmp_path_factory):
    """One migrated database for every example; each example replaces its orders."""
    from carecli.schema import database

    if not _BASE:
        path = tmp_path_factory.mktemp("loyalty") / "orders.db"
        conn = database.connect(path, create=True)
        conn.executemany(
            "INSERT INTO customers (id, name, created_at) VALUES (?, ?, '2025-01-01T00:00:00+00:00')",
            [(i, f"C{i}") for i in range(1, 7)],
        )
        conn.commit()
        _BASE.append(conn)
    return _BASE[0]


def _naive(orders: list[tuple[int, datetime, float | None]], since: datetime, until: datetime, window_days: int):
    first = {}
    for customer, at, _ in orders:
        first[customer] = min(first.get(customer, at), at)
    in_period = [(c, at, total) for c, at, total in orders if since <= at < until]
    buyers = {c for c, _, _ in in_period}
    returning = {c for c in buyers if first[c] < since}
    newcomers = {c for c in buyers if first[c] >= since}
    repeated = {
        c
        for c in newcomers
        if sum(
            1
            for o, at, _ in orders
            if o == c and first[c] <= at < until and at - first[c] <= timedelta(days=window_days)
        )
        >= 2
    }
    revenue = sum(total for _, _, total in in_period if total is not None)
    returning_revenue = sum(total for c, _, total in in_period if total is not None and c in returning)
    pct = lambda part, whole: None if not whole else round(100.0 * part / whole, 2)  # noqa: E731
    return {
        "first_buyers": len(newcomers),
        "repeat_buyers": len(repeated),
        "repeat_purchase_pct": pct(len(repeated), len(newcomers)),
        "buyers": len(buyers),
        "returning_buyers": len(returning),
        "returning_customer_pct": pct(len(returning), len(buyers)),
        "revenue": round(revenue, 2),
        "returning_revenue": round(returning_revenue, 2),
        "returning_revenue_pct": pct(returning_revenue, revenue),
    }


@hypothesis.settings(
    max_examples=60, deadline=None, suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture]
)
@hypothesis.given(
    orders=st.lists(
        st.tuples(
            st.integers(1, 6),
            st.integers(0, 200 * 24).map(lambda hours: START + timedelta(hours=hours)),
            st.one_of(st.none(), st.integers(0, 5000).map(lambda cents: cents / 100)),
        ),
        max_size=25,
    ),
    since_day=st.integers(0, 150),
    length_days=st.integers(1, 60),
    window_days=st.sampled_from([1, 7, 30, 90]),
)
def test_repeat_and_returning_agree_with_a_naive_recount(tmp_path_factory, orders, since_day, length_days, window_days):
    from carecli.core import config
    from carecli.measure import loyalty
    from carecli.text.clock import to_db

    conn = _database(tmp_path_factory)
    conn.execute("DELETE FROM orders")
    conn.executemany(
        "INSERT INTO orders (customer_id, ordered_at, total, created_at) VALUES (?, ?, ?, ?)",
        [(c, to_db(at), total, to_db(at)) for c, at, total in orders],
    )
    since = START + timedelta(days=since_day)
    until = since + timedelta(days=length_days)
    settings = config.load(env={"CARECLI_CARE_REPEAT_WINDOW_DAYS": str(window_days)})
    figures = loyalty.buyer_figures(conn, settings, to_db(since), to_db(until))
    expected = _naive(orders, since, until, window_days)
    # Shares of sums of cents may round apart in the last digit (float sums in another order).
    assert figures == pytest.approx(expected, abs=0.011)


BIKE_PLAN = """[care]
service_grace_days = 3
[[care.plans]]
name = "bike"
products = ["*bike*"]
asset = true
[[care.plans.steps]]
every = "monthly"
kind = "service-reminder"
"""


def test_each_due_date_a_service_moved_the_reminder_from_is_judged(run, tmp_path, monkeypatch):
    # Recording a service moves the asset's reminder on to the next month; the due date it had
    # still counts, on time or late against the service that moved it.
    config = tmp_path / "bike.toml"
    config.write_text(BIKE_PLAN)

    def at(now, *args):
        monkeypatch.setenv("CARECLI_NOW", now)
        return run("--config", str(config), *args, ok=True)

    at("2026-02-01T09:00:00+00:00", "customer", "add", "Ben", "--at", "2026-01-01")
    at("2026-02-01T09:00:00+00:00", "asset", "add", "ben", "Bike", "--plan", "bike", "--since", "2026-01-10")
    # Due Feb 10, serviced Feb 11 (on time, grace 3 days): the reminder moves to Mar 11.
    moved = at("2026-02-11T12:00:00+00:00", "asset", "serviced", "1", "--at", "2026-02-11 10:00")
    assert "to 2026-03-11" in moved.stderr
    # Due Mar 11, serviced Mar 25 (two weeks late): the reminder moves to Apr 25.
    at("2026-03-26T09:00:00+00:00", "asset", "serviced", "1", "--at", "2026-03-25 10:00")
    figures = run.json("--config", str(config), "kpi", "--since", "2026-02-01", "--until", "2026-03-31")["loyalty"]
    assert (figures["service_reminders_due"], figures["services_on_time"], figures["services_late"]) == (2, 1, 1)
    assert figures["service_on_time_pct"] == 50.0
    february = run.json("--config", str(config), "kpi", "--since", "2026-02-01", "--until", "2026-02-28")["loyalty"]
    assert (february["service_reminders_due"], february["services_on_time"], february["services_late"]) == (1, 1, 0)
