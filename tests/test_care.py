"""The demo shop's care history: follow-ups on time and late, recurring, overdue, lost customers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from carecli.core import config
from carecli.demo.shop import build_demo
from carecli.schema import database
from carecli.text.clock import from_db


def test_demo_history_has_care_data_that_obeys_the_rules(db_path):
    conn = database.connect(db_path, create=True)
    end = datetime(2026, 3, 14, 10, tzinfo=timezone.utc)
    counts = build_demo(conn, config.load(None), end=end, days=60)
    assert counts["followups"] > 10 and counts["lost_customers"] == 2
    on_time = dict(
        conn.execute("SELECT on_time, count(*) FROM followups WHERE status = 'done' GROUP BY on_time").fetchall()
    )
    assert on_time.get(1) and on_time.get(0)  # some kept on time, some late
    assert (
        conn.execute(
            "SELECT count(*) FROM followups WHERE status = 'scheduled' AND due_at < ?", ("2026-03-13T23:00:00+00:00",)
        ).fetchone()[0]
        >= 1
    )  # overdue
    assert (
        conn.execute("SELECT count(*) FROM followups WHERE recurrence IS NOT NULL AND status = 'scheduled'").fetchone()[
            0
        ]
        == 3
    )  # each monthly series goes on
    assert conn.execute("SELECT max(completed_at) FROM followups").fetchone()[0] <= "2026-03-14T10:00:00+00:00"
    # every done follow-up logged its contact
    assert (
        conn.execute("""SELECT count(*) FROM followups f WHERE f.status = 'done' AND NOT EXISTS
                           (SELECT 1 FROM interactions i WHERE i.followup_id = f.id AND i.direction = 'out')""").fetchone()[
            0
        ]
        == 0
    )
    assert conn.execute("SELECT count(*) FROM customers WHERE lost_at IS NOT NULL").fetchone()[0] == 2
    conn.close()


def test_demo_tour_shows_today(run_without_db):
    result = run_without_db("demo", "--days", "30", ok=True)
    assert "today --limit 5   # Today's agenda" in result.stdout and "Today: 2026-03-14" in result.stdout


def test_demo_orders_have_regulars_quiet_buyers_and_serviced_subscriptions(db_path):
    conn = database.connect(db_path, create=True)
    end = datetime(2026, 3, 14, 10, tzinfo=timezone.utc)
    counts = build_demo(conn, config.load(None), end=end, days=60)
    assert counts["orders"] > 60 and counts["assets"] == 3 and counts["services"] >= 6
    rows = conn.execute(
        """SELECT o.customer_id, count(*) AS n, max(o.ordered_at) AS last,
                  min(o.ordered_at) >= min(c.created_at) AS after_joining
             FROM orders o JOIN customers c ON c.id = o.customer_id GROUP BY o.customer_id"""
    ).fetchall()
    regulars = [row for row in rows if row["n"] >= 6]
    assert len(regulars) >= 6
    # Two regulars stopped buying three months before the end: silent buyers for care to find.
    assert sum(row["last"] < "2025-12-20" for row in regulars) == 2
    assert all(row["after_joining"] for row in rows)
    assert conn.execute("SELECT max(ordered_at) FROM orders").fetchone()[0] <= "2026-03-14T10:00:00+00:00"
    assert conn.execute("SELECT max(serviced_at) FROM services").fetchone()[0] <= "2026-03-14T10:00:00+00:00"
    assert (
        conn.execute(
            "SELECT count(*) FROM assets a JOIN order_lines l ON l.id = a.order_line_id WHERE l.product LIKE 'Plant-care%'"
        ).fetchone()[0]
        == 3
    )
    conn.close()


def test_demo_plans_tipped_orchid_buyers_and_keep_each_subscription_reminded(db_path):
    from carecli.demo import settings as demo_settings

    config_file = db_path.parent / "demo.toml"
    config_file.write_text(demo_settings.TEXT)
    conn = database.connect(db_path, create=True)
    end = datetime(2026, 3, 14, 10, tzinfo=timezone.utc)
    counts = build_demo(conn, config.load(config_file, env={"CARECLI_TIMEZONE": "Europe/Berlin"}), end=end, days=60)
    tips = conn.execute(
        """SELECT f.status, f.on_time, f.due_at, o.ordered_at FROM followups f JOIN orders o ON o.id = f.order_id
           WHERE f.plan = 'orchid-tips'"""
    ).fetchall()
    # One tip per order holding an orchid, due a week after it (an all-day follow-up).
    orchid_orders = conn.execute(
        "SELECT count(DISTINCT order_id) FROM order_lines WHERE product LIKE 'orchid%'"
    ).fetchone()[0]
    assert len(tips) == orchid_orders and counts["tips_given"] >= 10
    assert all(from_db(t["due_at"]) - from_db(t["ordered_at"]) < timedelta(days=8) for t in tips)
    done = [t for t in tips if t["status"] == "done"]
    assert len(done) == counts["tips_given"] and {t["on_time"] for t in done} == {0, 1}
    assert all(t["due_at"] >= "2026-03-13" for t in tips if t["status"] == "scheduled")  # none left behind
    reminders = conn.execute(
        """SELECT f.due_at, f.recurrence, (SELECT max(serviced_at) FROM services s WHERE s.asset_id = f.asset_id) AS last
           FROM followups f WHERE f.plan = 'plant-care' AND f.status = 'scheduled'"""
    ).fetchall()
    # Each subscriber's next visit is one reminder, a month after their last service.
    assert len(reminders) == 3
    for reminder in reminders:
        assert reminder["recurrence"] and timedelta(days=27) < from_db(reminder["due_at"]) - from_db(
            reminder["last"]
        ) < timedelta(days=32)
    conn.close()


def test_demo_writes_its_config_beside_its_database_and_never_replaces_anyone_elses(run_without_db, tmp_path):
    own = tmp_path / "shop.toml"
    own.write_text('[shop]\nname = "Mine"\n')
    refused = run_without_db("--db", str(tmp_path / "shop.db"), "demo", "--days", "30")
    assert refused.exit_code == 1 and "shop.toml exists and is not a demo config" in refused.stderr
    assert own.read_text() == '[shop]\nname = "Mine"\n' and not (tmp_path / "shop.db").exists()

    result = run_without_db("--db", str(tmp_path / "demo.db"), "demo", "--days", "30", ok=True)
    config_file = tmp_path / "demo.toml"
    assert config_file.stat().st_mode & 0o777 == 0o600
    assert f"CARECLI_CONFIG={config_file}" in result.stdout and "plan list   # What the care plans did" in result.stdout
    assert "orchid-tips" in result.stdout and "plant-care" in result.stdout
    again = run_without_db("--db", str(tmp_path / "demo.db"), "demo", "--days", "30", "--yes", ok=True)
    assert "orchid-tips" in again.stdout  # its own config is replaced


def test_the_demo_config_never_takes_the_database_file_name(tmp_path):
    from carecli.demo import settings as demo_settings

    assert demo_settings.config_path(tmp_path / "demo.db") == tmp_path / "demo.toml"
    assert demo_settings.config_path(tmp_path / "shop") == tmp_path / "shop.toml"
    assert demo_settings.config_path(tmp_path / "odd.toml") == tmp_path / "odd.toml.config.toml"
