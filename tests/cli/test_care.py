"""Proactive care through the CLI: after-close check-ins, today, lost and won back, churn, suggest, health."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.conftest import database_digest

# The suite's clock: Saturday 2026-03-14 11:00 in Berlin. `shop`: Ada (#1, vip), Ben (#2), ticket #1 (Ada, high).


def survey(db_path, kind: str, customer_id: int, score: int, at: str, ticket_id: int | None = None) -> None:
    """Surveys are recorded by another command group; these tests write the table directly."""
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute(
            "INSERT INTO surveys (kind, customer_id, ticket_id, score, at) VALUES (?, ?, ?, ?, ?)",
            (kind, customer_id, ticket_id, score, at),
        )
    conn.close()


def followups(run, status: str = "all") -> list[dict]:
    return run.json("followup", "list", "--status", status)


# ---------------------------------------------------------------- after-close check-in


def test_close_schedules_no_check_in_when_the_config_is_empty(shop):
    shop("ticket", "close", "1", ok=True)
    assert followups(shop) == []


def test_config_followup_after_close_schedules_a_check_in_linked_to_the_ticket(shop, monkeypatch):
    monkeypatch.setenv("CARECLI_CARE_FOLLOWUP_AFTER_CLOSE", "7d")
    result = shop("ticket", "close", "1", "--at", "2026-03-14 09:00", ok=True)
    assert "scheduled check-in #1 due 2026-03-21" in result.stderr
    [check_in] = followups(shop)
    assert (check_in["kind"], check_in["ticket_id"], check_in["source"], check_in["due_day"], check_in["all_day"]) == (
        "check-in",
        1,
        "after-close",
        "2026-03-21",
        True,
    )


def test_followup_option_overrides_the_config_and_no_followup_turns_it_off(shop, monkeypatch):
    monkeypatch.setenv("CARECLI_CARE_FOLLOWUP_AFTER_CLOSE", "7d")
    shop("ticket", "close", "1", "--followup", "3d", ok=True)
    assert [f["due_day"] for f in followups(shop)] == ["2026-03-17"]
    shop("ticket", "open", "ben", "Where is my order?", ok=True)
    shop("ticket", "close", "2", "--no-followup", ok=True)
    assert len(followups(shop)) == 1


def test_a_followup_shorter_than_a_day_is_timed(shop):
    shop("ticket", "close", "1", "--followup", "2h", ok=True)
    [check_in] = followups(shop)
    assert check_in["all_day"] is False and check_in["due_at"] == "2026-03-14T12:00:00+00:00"


def test_a_followup_given_as_a_day_is_an_all_day_check_in_on_that_day(shop):
    result = shop("ticket", "close", "1", "--followup", "2026-06-13", ok=True)
    [check_in] = followups(shop)
    assert (check_in["due_day"], check_in["all_day"], check_in["ticket_id"]) == ("2026-06-13", True, 1)
    assert "due 2026-06-13" in result.stderr


def test_a_followup_given_as_a_time_is_timed(shop):
    shop("ticket", "close", "1", "--followup", "2026-03-20 15:00", ok=True)
    [check_in] = followups(shop)
    assert check_in["all_day"] is False and check_in["due_at"] == "2026-03-20T14:00:00+00:00"


def test_a_followup_neither_duration_nor_day_is_an_error_naming_both(shop):
    result = shop("ticket", "close", "1", "--followup", "someday")
    assert result.exit_code == 1
    assert "cannot read --followup 'someday' as a duration or a day" in result.stderr
    assert shop.json("ticket", "show", "1")["status"] != "closed"


def test_reopen_skips_the_pending_check_in_and_closing_again_schedules_a_new_one(shop):
    shop("ticket", "close", "1", "--followup", "7d", "--at", "2026-03-14 09:00", ok=True)
    result = shop("ticket", "reopen", "1", "--at", "2026-03-14 10:00", ok=True)
    assert "skipped its after-close check-in #1" in result.stderr
    shop("ticket", "close", "1", "--followup", "7d", "--at", "2026-03-14 10:30", ok=True)
    assert [(f["id"], f["status"], f["outcome"]) for f in followups(shop)] == [
        (1, "skipped", "ticket reopened"),
        (2, "scheduled", None),
    ]


def test_reopen_leaves_other_followups_of_the_ticket_alone(shop):
    shop("followup", "add", "ada", "--due", "2026-03-20", "--ticket", "1", ok=True)
    shop("ticket", "close", "1", ok=True)
    shop("ticket", "reopen", "1", ok=True)
    assert [f["status"] for f in followups(shop)] == ["scheduled"]


@pytest.mark.parametrize(
    "args, expected",
    [
        (("--followup", "soon"), "cannot read --followup 'soon' as a duration or a day"),
        (("--followup", "3d", "--no-followup"), "not both"),
        (("--followup", "0d"), "longer than 0"),
    ],
)
def test_bad_followup_on_close_writes_nothing(shop, db_path, args, expected):
    before = database_digest(db_path)
    result = shop("ticket", "close", "1", *args)
    assert result.exit_code == 1 and expected in result.stderr
    assert database_digest(db_path) == before


# ---------------------------------------------------------------- today


def test_today_lists_due_overdue_waiting_on_us_and_long_pending(shop):
    shop("followup", "add", "ada", "--due", "today", "--note", "Call about vase", ok=True)
    shop("followup", "add", "ben", "--due", "2026-03-11", "--at", "2026-03-01", ok=True)
    shop("followup", "add", "ben", "--due", "2026-03-15", ok=True)
    shop("ticket", "open", "ben", "Where is my order?", "--priority", "low", "--at", "2026-03-10 09:00", ok=True)
    shop("ticket", "open", "ben", "Invoice please", "--priority", "urgent", "--at", "2026-03-14 08:00", ok=True)
    shop("ticket", "open", "ada", "Gift card", "--at", "2026-03-01 09:00", ok=True)
    shop("ticket", "reply", "4", "Which amount?", "--pending", "--at", "2026-03-05 09:00", ok=True)
    shop("ticket", "open", "ada", "Card text", "--at", "2026-03-13 09:00", ok=True)
    shop("ticket", "reply", "5", "Which text?", "--pending", "--at", "2026-03-13 10:00", ok=True)
    agenda = shop.json("today")
    assert agenda["date"] == "2026-03-14"
    assert [f["id"] for f in agenda["followups_due"]] == [1]
    assert [(f["id"], f["days_overdue"]) for f in agenda["followups_overdue"]] == [(2, 3)]
    assert [t["id"] for t in agenda["waiting_on_us"]] == [3, 1, 2]  # urgent, high, low
    assert agenda["waiting_on_us"][0]["age_s"] == 3 * 3600  # 08:00 -> 11:00 local
    assert [t["id"] for t in agenda["waiting_on_customer"]] == [4]  # pending 9 days; #5 only 1 day
    assert agenda["waiting_on_customer"][0]["waiting_s"] == 9 * 86400 + 2 * 3600
    assert agenda["counts"] == {
        "followups_due": 1,
        "followups_overdue": 1,
        "waiting_on_us": 3,
        "waiting_on_customer": 1,
        "sla_breaching": 0,
    }  # no SLA targets set
    assert [f["id"] for f in shop.json("today", "--date", "tomorrow")["followups_due"]] == [3]


def test_waiting_on_us_counts_from_the_customers_oldest_unanswered_message(shop):
    # now is 2026-03-14 11:00 Berlin
    shop("ticket", "reply", "1", "Looking into it", "--open", "--at", "2026-03-13 10:00", ok=True)
    shop("ticket", "inbound", "1", "Any news?", "--at", "2026-03-13 12:00", ok=True)  # unanswered since
    shop("ticket", "inbound", "1", "Hello?", "--at", "2026-03-13 15:00", ok=True)
    shop("ticket", "open", "ben", "Order", "--at", "2026-03-10 09:00", ok=True)
    shop("ticket", "reply", "2", "Which order?", "--at", "2026-03-10 10:00", ok=True)  # pending
    shop("ticket", "inbound", "2", "Number 31", "--at", "2026-03-14 09:00", ok=True)  # resumed
    shop("ticket", "open", "ada", "Vase", "--at", "2026-03-05 09:00", ok=True)
    shop("ticket", "close", "3", "--at", "2026-03-06 09:00", ok=True)
    shop("ticket", "reopen", "3", "--at", "2026-03-14 10:00", ok=True)  # no message: since the reopen
    shop("ticket", "open", "ben", "Card", "-m", "Wrong text", "--at", "2026-03-12 09:00", ok=True)
    shop("ticket", "close", "4", "--at", "2026-03-12 10:00", ok=True)  # solved in person: answered
    shop("ticket", "reopen", "4", "--at", "2026-03-14 10:30", ok=True)
    shop("ticket", "open", "ada", "Gift", "-m", "Gift card?", "--at", "2026-03-13 08:00", ok=True)
    shop("ticket", "pending", "5", "--at", "2026-03-13 08:30", ok=True)  # asked by phone
    shop("ticket", "inbound", "5", "50 euros", "--at", "2026-03-13 14:00", ok=True)
    waiting = {t["id"]: (t["waiting_since"], t["waiting_s"]) for t in shop.json("today")["waiting_on_us"]}
    assert waiting == {
        1: ("2026-03-13T11:00:00+00:00", 23 * 3600),
        2: ("2026-03-14T08:00:00+00:00", 2 * 3600),
        3: ("2026-03-14T09:00:00+00:00", 3600),
        4: ("2026-03-14T09:30:00+00:00", 1800),
        5: ("2026-03-13T13:00:00+00:00", 21 * 3600),
    }
    [line] = [line for line in shop("today", ok=True).stdout.splitlines() if "Vase arrived cracked" in line]
    assert "1d 2h" in line and "23h" in line  # the ticket's age, and how long it has waited on us


def test_today_table_has_every_section_and_says_when_lists_are_cut(shop):
    shop("ticket", "open", "ben", "Second", ok=True)
    out = shop("today", "--limit", "1", ok=True).stdout
    assert "Today: 2026-03-14" in out
    assert "2 (showing 1)" in out
    for section in ("Follow-ups due: none", "Follow-ups overdue: none", "Waiting on us", "Waiting on customer: none"):
        assert section in out


def test_pending_nudge_after_is_configurable(shop, monkeypatch):
    shop("ticket", "reply", "1", "Photo please?", "--pending", "--at", "2026-03-13 10:00", ok=True)
    assert shop.json("today")["waiting_on_customer"] == []
    monkeypatch.setenv("CARECLI_CARE_PENDING_NUDGE_AFTER", "1d")
    assert [t["id"] for t in shop.json("today")["waiting_on_customer"]] == [1]


def test_build_agenda_is_a_plain_json_ready_dict(shop, db_path):
    import json
    from datetime import date, datetime, timezone

    from carecli.core import config
    from carecli.measure.agenda import build_agenda
    from carecli.schema import database

    conn = database.connect(db_path)
    agenda = build_agenda(
        conn, config.load(None), day=date(2026, 3, 14), now=datetime(2026, 3, 14, 10, tzinfo=timezone.utc)
    )
    conn.close()
    assert json.loads(json.dumps(agenda)) == agenda
    [ticket] = agenda["waiting_on_us"]
    assert {"id", "customer_id", "customer_name", "subject", "priority", "status", "created_at", "age_s"} <= set(ticket)


# ---------------------------------------------------------------- lost, won back, churn


def test_lost_and_won_back_set_and_clear_the_customer_and_keep_events(shop, db_path):
    lost = shop.json("customer", "lost", "ben", "--reason", "Price", "--note", "Found it cheaper", "--at", "2026-03-10")
    assert lost["lost_at"] == "2026-03-09T23:00:00+00:00" and lost["lost_reason"] == "price"
    back = shop.json("customer", "won-back", "ben")
    assert back["lost_at"] is None and back["lost_reason"] is None
    conn = sqlite3.connect(db_path)
    events = conn.execute("SELECT kind, detail FROM events WHERE customer_id = 2 ORDER BY id").fetchall()
    assert events == [
        ("lost", '{"note": "Found it cheaper", "reason": "price"}'),
        ("won-back", '{"lost_at": "2026-03-09T23:00:00+00:00", "reason": "price"}'),
    ]


@pytest.mark.parametrize(
    "args, expected",
    [
        (("customer", "lost", "ben", "--reason", "weather"), "unknown lost reason 'weather'"),
        (("customer", "lost", "ada", "--reason", "price"), "already lost"),
        (("customer", "lost", "ben", "--reason", "price", "--at", "2020-01-01"), "they were added at"),
        (("customer", "won-back", "ben"), "is not lost"),
        (("customer", "won-back", "ada", "--at", "2026-03-01"), "they were lost at"),
        (("customer", "lost", "nobody", "--reason", "price"), "no customer 'nobody'"),
    ],
)
def test_bad_lost_and_won_back_write_nothing(shop, db_path, args, expected):
    shop("customer", "lost", "ada", "--reason", "moved", "--at", "2026-03-05", ok=True)
    before = database_digest(db_path)
    result = shop(*args)
    assert result.exit_code == 1 and expected in result.stderr
    assert database_digest(db_path) == before


def test_churn_counts_losses_in_the_period_by_reason(shop):
    for name in ("Cara", "Dan", "Eve"):
        shop("customer", "add", name, "--at", "2026-01-01", ok=True)
    shop("customer", "lost", "ada", "--reason", "price", "--at", "2026-03-02", ok=True)
    shop("customer", "lost", "ben", "--reason", "price", "--at", "2026-03-03", ok=True)
    shop("customer", "lost", "cara", "--reason", "moved", "--at", "2026-03-04", ok=True)
    shop("customer", "lost", "dan", "--reason", "service", "--at", "2026-01-20", ok=True)  # before the period
    shop("customer", "won-back", "ben", "--at", "2026-03-10", ok=True)
    rows = shop.json("care", "churn", "--since", "2026-03-01")
    assert rows == [
        {"reason": "price", "lost": 2, "won_back": 1, "share_pct": 66.67},
        {"reason": "moved", "lost": 1, "won_back": 0, "share_pct": 33.33},
    ]
    assert [r["reason"] for r in shop.json("care", "churn", "--since", "2026-01-01", "--until", "2026-01-31")] == [
        "service"
    ]
    csv_out = shop("care", "churn", "--since", "2026-03-01", "--format", "csv", ok=True).stdout
    assert csv_out.splitlines()[:2] == ["reason,lost,won_back,share_pct", "price,2,1,66.67"]


def test_churn_counts_a_customer_lost_twice_once_under_the_latest_reason(shop):
    shop("customer", "add", "Cara", "--at", "2026-01-01", ok=True)
    shop("customer", "lost", "cara", "--reason", "price", "--at", "2026-03-03", ok=True)
    shop("customer", "won-back", "cara", "--at", "2026-03-05", ok=True)
    shop("customer", "lost", "cara", "--reason", "service", "--at", "2026-03-09", ok=True)
    result = shop("care", "churn", "--since", "2026-03-01", "--format", "json", ok=True)
    assert json.loads(result.stdout) == [{"reason": "service", "lost": 1, "won_back": 0, "share_pct": 100.0}]
    assert "1 customer lost" in result.stderr
    assert shop.json("kpi", "--since", "2026-03-01")["retention"]["lost"] == 1


def test_churn_counts_as_won_back_only_those_back_before_the_end_of_the_period(shop):
    shop("customer", "lost", "ben", "--reason", "price", "--at", "2026-03-03", ok=True)
    shop("customer", "won-back", "ben", "--at", "2026-03-10", ok=True)
    [before] = shop.json("care", "churn", "--since", "2026-03-01", "--until", "2026-03-08")
    assert (before["lost"], before["won_back"]) == (1, 0)
    [after] = shop.json("care", "churn", "--since", "2026-03-01", "--until", "2026-03-12")
    assert (after["lost"], after["won_back"]) == (1, 1)


def test_churn_uses_the_default_period_of_kpi(shop):
    # kpi's default: the last 30 local days, today included, up to now (Feb 13 00:00 - Mar 14 11:00).
    shop("customer", "add", "Cara", "--at", "2026-01-01", ok=True)
    shop("customer", "add", "Dan", "--at", "2026-01-01", ok=True)
    shop("customer", "lost", "cara", "--reason", "moved", "--at", "2026-02-12 15:00", ok=True)
    shop("customer", "lost", "dan", "--reason", "price", "--at", "2026-02-13 00:30", ok=True)
    result = shop("care", "churn", "--format", "json", ok=True)
    assert [r["reason"] for r in json.loads(result.stdout)] == ["price"]
    assert "from 2026-02-13 00:00 to 2026-03-14 11:00" in result.stderr
    kpi = shop.json("kpi")["period"]
    assert (kpi["since"], kpi["until"]) == ("2026-02-12T23:00:00+00:00", "2026-03-14T10:00:00+00:00")


def test_a_customer_lost_and_won_back_inside_the_period_is_retained(shop):
    shop("customer", "add", "Cara", "--at", "2026-01-01", ok=True)
    shop("customer", "lost", "ben", "--reason", "price", "--at", "2026-03-05", ok=True)
    shop("customer", "won-back", "ben", "--at", "2026-03-08", ok=True)
    shop("customer", "lost", "cara", "--reason", "moved", "--at", "2026-03-06", ok=True)
    retention = shop.json("kpi", "--since", "2026-03-04")["retention"]
    assert retention == {
        "customers_at_start": 3,
        "lost": 2,
        "won_back": 1,
        "new": 0,
        "retention_pct": 66.67,
        "churn_pct": 66.67,
    }


# ---------------------------------------------------------------- the care queue


def rules(run) -> list[tuple]:
    return [(s["rule"], s["customer_name"], s["kind"]) for s in run.json("care", "suggest")]


@pytest.mark.parametrize(
    "kind, score, suggested",
    [
        ("csat", 2, True),
        ("csat", 3, False),
        ("ces", 3, True),
        ("ces", 4, False),
        ("nps", 6, True),
        ("nps", 7, False),
    ],
)
def test_recovery_follows_a_bad_recent_score(shop, db_path, kind, score, suggested):
    survey(db_path, kind, 1, score, "2026-03-13T12:00:00+00:00", ticket_id=None if kind == "nps" else 1)
    expected = [("recovery", "Ada Lovelace", "recovery")] if suggested else []
    assert rules(shop) == expected
    if suggested:
        [item] = shop.json("care", "suggest")
        assert item["evidence"].startswith(f"{kind.upper()} {score}")
        assert item["score"] == score


def test_a_bad_score_replaced_by_a_good_one_asks_for_no_recovery_and_health_reads_the_new_one(shop):
    shop("survey", "csat", "1", "2", "--at", "2026-03-13 12:00", ok=True)
    shop("survey", "csat", "1", "5", "--at", "2026-03-13 12:00", ok=True)  # same time: the later answer is current
    assert rules(shop) == []
    assert "csat" not in {f["factor"] for f in health(shop)["Ada Lovelace"]["factors"]}


def test_recovery_ignores_old_scores_and_skips_cleanly_without_surveys(shop, db_path):
    assert rules(shop) == []
    survey(db_path, "csat", 1, 1, "2026-02-01T12:00:00+00:00", ticket_id=1)  # older than 30 days
    assert rules(shop) == []


def test_recovery_is_not_suggested_when_a_recovery_followup_covers_it(shop, db_path):
    survey(db_path, "csat", 1, 1, "2026-03-13T12:00:00+00:00", ticket_id=1)
    shop("followup", "add", "ada", "--due", "2026-03-16", "--kind", "recovery", ok=True)
    assert rules(shop) == []
    shop("followup", "done", "1", ok=True)  # acted on after the score: still covered
    assert rules(shop) == []


def test_repeat_contact_needs_three_tickets_in_30_days(shop):
    shop("ticket", "open", "ada", "Second", "--at", "2026-03-01", ok=True)
    shop("ticket", "open", "ada", "Old one", "--at", "2026-02-01", ok=True)  # outside the window
    assert rules(shop) == []
    shop("ticket", "open", "ada", "Third", "--at", "2026-03-14 09:00", ok=True)
    [item] = shop.json("care", "suggest")
    assert (item["rule"], item["kind"], item["score"]) == ("repeat-contact", "check-in", 3)
    assert "(#2, #1, #4)" in item["evidence"]


def test_repeat_contact_is_covered_by_a_scheduled_check_in(shop):
    for day in ("2026-03-01", "2026-03-05"):
        shop("ticket", "open", "ada", "Again", "--at", day, ok=True)
    assert rules(shop) == [("repeat-contact", "Ada Lovelace", "check-in")]
    shop("followup", "add", "ada", "--due", "2026-04-01", "--kind", "check-in", ok=True)
    assert rules(shop) == []


def test_silent_customers_not_lost_get_a_check_in(shop):
    shop("customer", "add", "Cara", "--at", "2025-10-01", ok=True)
    shop("customer", "add", "Dan", "--at", "2025-10-01", ok=True)
    shop("log", "dan", "Called to say hi", "--at", "2026-01-01", ok=True)
    shop("customer", "add", "Eve", "--at", "2025-10-01", ok=True)
    shop("customer", "lost", "eve", "--reason", "moved", ok=True)
    suggestions = [s for s in shop.json("care", "suggest") if s["rule"] != "win-back"]  # Eve: see win-back
    assert [(s["rule"], s["customer_name"], s["days"]) for s in suggestions] == [("silent", "Cara", 164)]
    assert suggestions[0]["evidence"] == "no contact since 2025-10-01"  # the local day Cara was added
    shop("followup", "add", "cara", "--due", "2026-03-20", ok=True)
    assert rules(shop) == [("win-back", "Eve", "win-back")]


def test_thank_you_for_promoters_without_a_recent_thank_you(shop, db_path):
    survey(db_path, "nps", 2, 10, "2026-03-10T12:00:00+00:00")
    assert rules(shop) == [("thank-you", "Ben Okafor", "thank-you")]
    shop("followup", "add", "ben", "--due", "2026-01-10", "--kind", "thank-you", "--at", "2026-01-01", ok=True)
    assert rules(shop) == []  # scheduled
    shop("followup", "done", "1", "--at", "2026-01-10", ok=True)
    assert rules(shop) == []  # done within 90 days


def test_thresholds_come_from_config(shop, db_path, monkeypatch):
    survey(db_path, "csat", 1, 3, "2026-03-13T12:00:00+00:00", ticket_id=1)
    assert rules(shop) == []
    monkeypatch.setenv("CARECLI_CARE_RECOVERY_CSAT_MAX", "3")
    assert rules(shop) == [("recovery", "Ada Lovelace", "recovery")]


def test_evidence_and_notes_carry_absolute_local_dates(shop, db_path):
    # 23:30 UTC on the 9th is already the 10th in Berlin.
    survey(db_path, "nps", 2, 10, "2026-03-09T23:30:00+00:00")
    survey(db_path, "csat", 1, 1, "2026-03-14T09:00:00+00:00", ticket_id=1)
    for day in ("2026-03-01", "2026-03-05"):
        shop("ticket", "open", "ada", "Again", "--at", day, ok=True)
    evidence = {s["rule"]: s["evidence"] for s in shop.json("care", "suggest")}
    assert evidence == {
        "recovery": "CSAT 1 on ticket #1 on 2026-03-14",
        "repeat-contact": "3 tickets from 2026-03-01 to 2026-03-13 (#2, #3, #1)",
        "thank-you": "NPS 10 on 2026-03-10",
    }
    shop("care", "suggest", "--apply", "--yes", ok=True)
    notes = {f["kind"]: f["note"] for f in followups(shop)}
    assert notes["thank-you"] == "thank-you: NPS 10 on 2026-03-10"
    assert "today" not in " ".join(notes.values()) and "ago" not in " ".join(notes.values())


def test_lost_customers_get_no_recovery_check_in_or_thank_you(shop, db_path):
    survey(db_path, "csat", 1, 1, "2026-03-13T12:00:00+00:00", ticket_id=1)
    survey(db_path, "nps", 1, 10, "2026-03-13T12:00:00+00:00")
    shop("customer", "lost", "ada", "--reason", "price", "--at", "2026-03-13 13:00", ok=True)
    assert rules(shop) == []


def test_win_back_for_a_customer_lost_recently_for_a_reason_other_than_price(shop):
    shop("customer", "add", "Cara", "--at", "2025-01-01", ok=True)
    shop("customer", "add", "Dan", "--at", "2025-01-01", ok=True)
    shop("customer", "lost", "ada", "--reason", "service", "--at", "2026-03-10", ok=True)
    shop("customer", "lost", "ben", "--reason", "price", "--at", "2026-03-10", ok=True)  # never
    shop("customer", "lost", "cara", "--reason", "moved", "--at", "2025-12-01", ok=True)  # over 90 days ago
    shop("customer", "lost", "dan", "--reason", "competitor", "--at", "2025-12-15", ok=True)  # 89 days ago
    suggestions = shop.json("care", "suggest")
    assert [(s["rule"], s["customer_name"], s["kind"], s["evidence"]) for s in suggestions] == [
        ("win-back", "Dan", "win-back", "lost (competitor) on 2025-12-15"),
        ("win-back", "Ada Lovelace", "win-back", "lost (service) on 2026-03-10"),
    ]
    shop("care", "suggest", "--apply", "--yes", ok=True)
    assert [(f["customer_name"], f["kind"]) for f in followups(shop)] == [
        ("Dan", "win-back"),
        ("Ada Lovelace", "win-back"),
    ]
    assert rules(shop) == []  # covered by the scheduled win-backs


def test_win_back_is_covered_by_a_win_back_made_since_the_loss_and_follows_the_config(shop, monkeypatch):
    shop("customer", "lost", "ada", "--reason", "service", "--at", "2026-03-10", ok=True)
    shop("followup", "add", "ada", "--due", "2026-03-11", "--kind", "win-back", "--at", "2026-03-10 12:00", ok=True)
    shop("followup", "skip", "1", "--at", "2026-03-11", ok=True)
    assert rules(shop) == []  # made after the loss, even if skipped
    monkeypatch.setenv("CARECLI_CARE_WIN_BACK_WITHIN", "")
    shop("customer", "lost", "ben", "--reason", "moved", "--at", "2026-03-12", ok=True)
    assert rules(shop) == []
    monkeypatch.setenv("CARECLI_CARE_WIN_BACK_WITHIN", "3d")
    assert rules(shop) == [("win-back", "Ben Okafor", "win-back")]


def test_suggest_without_apply_writes_nothing(shop, db_path):
    survey(db_path, "nps", 2, 10, "2026-03-10T12:00:00+00:00")
    before = database_digest(db_path)
    result = shop("care", "suggest", ok=True)
    assert "Ben Okafor" in result.stdout and "--apply" in result.stderr
    assert database_digest(db_path) == before


def test_apply_writes_exactly_what_was_listed(shop, db_path):
    survey(db_path, "nps", 2, 10, "2026-03-10T12:00:00+00:00")
    survey(db_path, "csat", 1, 1, "2026-03-13T12:00:00+00:00", ticket_id=1)
    listed = shop.json("care", "suggest")
    result = shop("care", "suggest", "--apply", "--yes", "--format", "json", ok=True)
    import json

    assert json.loads(result.stdout) == listed
    made = followups(shop)
    assert [(f["customer_id"], f["kind"], f["ticket_id"], f["source"], f["due_day"]) for f in made] == [
        (s["customer_id"], s["kind"], s["ticket_id"], f"suggest:{s['rule']}", "2026-03-14") for s in listed
    ]
    assert made[0]["note"] == f"{listed[0]['rule']}: {listed[0]['evidence']}"
    assert shop.json("care", "suggest") == []  # now covered


def test_apply_by_id_schedules_just_those_suggestions(shop, db_path):
    survey(db_path, "nps", 2, 10, "2026-03-10T12:00:00+00:00")
    survey(db_path, "csat", 1, 1, "2026-03-13T12:00:00+00:00", ticket_id=1)
    listed = shop.json("care", "suggest")
    assert [s["id"] for s in listed] == [1, 2]
    result = shop("care", "suggest", "--apply", "2", "--yes", ok=True)
    assert result.stderr.startswith("scheduled 1 follow-up: #")
    assert [(f["customer_id"], f["kind"]) for f in followups(shop)] == [(listed[1]["customer_id"], listed[1]["kind"])]
    left = shop.json("care", "suggest")
    assert [(s["id"], s["rule"]) for s in left] == [(1, listed[0]["rule"])]  # the one not chosen, still suggested


@pytest.mark.parametrize("ids, error", [("3", "no suggestion #3: there are 2"), ("1,x", "cannot read 'x'")])
def test_apply_by_an_unknown_id_is_an_error_and_writes_nothing(shop, db_path, ids, error):
    survey(db_path, "nps", 2, 10, "2026-03-10T12:00:00+00:00")
    survey(db_path, "csat", 1, 1, "2026-03-13T12:00:00+00:00", ticket_id=1)
    before = database_digest(db_path)
    result = shop("care", "suggest", "--apply", ids, "--yes")
    assert result.exit_code == 1 and error in result.stderr
    assert database_digest(db_path) == before


def test_apply_without_a_terminal_needs_yes_and_writes_nothing(shop, db_path):
    survey(db_path, "nps", 2, 10, "2026-03-10T12:00:00+00:00")
    before = database_digest(db_path)
    result = shop("care", "suggest", "--apply")
    assert result.exit_code == 1 and "--yes" in result.stderr
    assert database_digest(db_path) == before


# ---------------------------------------------------------------- health


def health(run, *args: str) -> dict:
    return {row["customer_name"]: row for row in run.json("customer", "health", *args)}


def test_health_starts_at_100_and_lists_worst_first(shop):
    rows = shop.json("customer", "health")
    assert [(r["customer_name"], r["score"]) for r in rows] == [("Ada Lovelace", 95), ("Ben Okafor", 100)]
    assert rows[0]["factors"] == [{"factor": "open_tickets", "points": -5, "detail": "1 open or pending ticket"}]
    assert rows[1]["factors"] == []


def test_health_factors_each_move_the_score(shop, db_path):
    survey(db_path, "csat", 1, 2, "2026-03-13T12:00:00+00:00", ticket_id=1)  # -20
    survey(db_path, "ces", 1, 1, "2026-03-13T12:00:00+00:00", ticket_id=1)  # -15
    survey(db_path, "nps", 1, 3, "2026-03-13T12:00:00+00:00")  # -20
    shop("ticket", "open", "ada", "Old and unanswered", "--at", "2026-03-01", ok=True)  # stale: -10; open: 2 x -5
    shop("ticket", "open", "ben", "Done", "--at", "2026-03-01", ok=True)
    shop("ticket", "close", "3", "--at", "2026-03-02", ok=True)
    shop("ticket", "reopen", "3", "--at", "2026-03-03", ok=True)  # Ben: reopened -5, open -5, stale -10
    shop("followup", "add", "ben", "--due", "2026-03-10", "--at", "2026-03-01", ok=True)  # overdue -10
    by_name = health(shop)
    ada = {f["factor"]: f["points"] for f in by_name["Ada Lovelace"]["factors"]}
    assert ada == {"csat": -20, "ces": -15, "nps": -20, "open_tickets": -10, "stale_tickets": -10}
    assert by_name["Ada Lovelace"]["score"] == 25
    ben = {f["factor"]: f["points"] for f in by_name["Ben Okafor"]["factors"]}
    assert ben == {"open_tickets": -5, "stale_tickets": -10, "reopened_tickets": -5, "overdue_followups": -10}
    assert by_name["Ben Okafor"]["score"] == 70


def test_health_counts_a_ticket_stale_from_its_last_activity_not_its_creation(shop):
    shop("ticket", "open", "ada", "Frame", "-m", "Frame broken", "--at", "2026-03-01 09:00", ok=True)
    shop("ticket", "reply", "2", "Ordering a new one", "--open", "--at", "2026-03-05 09:00", ok=True)  # quiet since
    shop("ticket", "open", "ben", "Order", "-m", "Where is it?", "--at", "2026-03-01 09:00", ok=True)
    shop("ticket", "reply", "3", "Which order?", "--at", "2026-03-02 09:00", ok=True)
    shop("ticket", "inbound", "3", "Number 31", "--at", "2026-03-13 09:00", ok=True)  # back to open yesterday
    by_name = health(shop)
    ada = {f["factor"]: f["points"] for f in by_name["Ada Lovelace"]["factors"]}
    assert ada == {"open_tickets": -10, "stale_tickets": -10}  # #2 quiet for 9 days; #1 opened yesterday
    ben = {f["factor"]: f["points"] for f in by_name["Ben Okafor"]["factors"]}
    assert ben == {"open_tickets": -5}  # opened 13 days ago, but the customer wrote yesterday


def test_health_counts_silence_and_shows_one_customer_even_when_lost(shop):
    shop("customer", "add", "Cara", "--at", "2025-10-01", ok=True)
    [cara] = shop.json("customer", "health", "cara")
    assert cara["score"] == 85 and cara["factors"][0]["detail"] == "no contact since 2025-09-30"
    shop("customer", "lost", "cara", "--reason", "moved", ok=True)
    assert "Cara" not in health(shop)
    [lost] = shop.json("customer", "health", "cara")
    assert lost["score"] == 0 and lost["factors"][0]["factor"] == "lost"


def test_health_never_drops_below_zero(shop, db_path):
    survey(db_path, "csat", 1, 1, "2026-03-13T12:00:00+00:00", ticket_id=1)
    survey(db_path, "ces", 1, 1, "2026-03-13T12:00:00+00:00", ticket_id=1)
    survey(db_path, "nps", 1, 0, "2026-03-13T12:00:00+00:00")
    for day in ("2026-03-01", "2026-03-02", "2026-03-03"):
        shop("ticket", "open", "ada", "Again", "--at", day, ok=True)
    for day in ("2026-03-01", "2026-03-02"):
        shop("followup", "add", "ada", "--due", day, "--at", "2026-02-01", ok=True)
    assert health(shop)["Ada Lovelace"]["score"] == 0


def test_health_counts_tickets_past_an_sla_deadline(shop, tmp_path):
    config = tmp_path / "sla.toml"
    config.write_text('[sla.high]\nfirst_response = "1h"\n')
    [ada] = shop.json("--config", str(config), "customer", "health", "ada")
    assert {f["factor"]: f["points"] for f in ada["factors"]} == {"open_tickets": -5, "sla_breaches": -10}
    assert ada["score"] == 85
    shop("ticket", "reply", "1", "On it", ok=True)  # first response given: no target left
    [ada] = shop.json("--config", str(config), "customer", "health", "ada")
    assert "sla_breaches" not in {f["factor"] for f in ada["factors"]}


def test_health_table_explains_itself(shop):
    out = shop("customer", "health", ok=True).stdout
    assert "1 open or pending ticket (-5)" in out and "nothing known wrong" in out


def test_today_lists_tickets_breaching_or_about_to_breach_an_sla(shop, tmp_path):
    config = tmp_path / "sla.toml"
    config.write_text('[sla.high]\nfirst_response = "1h"\n[sla.normal]\nfirst_response = "2h"\n')
    shop("ticket", "open", "ben", "Just in", "--at", "2026-03-14 09:30", ok=True)  # 1h30m of 2h gone
    agenda = shop.json("--config", str(config), "today")
    states = {t["id"]: (t["state"], t["target"]) for t in agenda["sla_breaching"]}
    assert states == {1: ("breached", "first_response"), 2: ("at risk", "first_response")}
    assert agenda["counts"]["sla_breaching"] == 2
    table = shop("--config", str(config), "today", ok=True).stdout
    assert "SLA breached or at risk  2" in table and "SLA breaching" in table


def test_every_suggestion_rule_is_documented_with_its_kind():
    from pathlib import Path

    from carecli.measure.suggest import RULES
    from carecli.records.followups import KINDS

    docs = (Path(__file__).parents[2] / "docs" / "metrics.md").read_text()
    section = docs[docs.index("## Care suggestions") :]
    for rule in RULES:
        assert f"| `{rule.name}` | `{rule.kind}` |" in section
        assert rule.kind in KINDS
