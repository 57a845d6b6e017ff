"""Silent buyers (docs/metrics.md): a customer whose usual gap between orders has passed
`[care] silent_buyer_factor` times over, in `care suggest` with its evidence and in health."""

from __future__ import annotations

import pytest

# Now is 2026-03-14 11:00 in Berlin (tests/conftest.py).
CLEO_EVIDENCE = "usually orders every 5 weeks; last order 11 weeks ago, on 2025-12-27"


@pytest.fixture
def buyers(run):
    def go(*args):
        return run(*args, ok=True)

    for name in ("Cleo", "Dan", "Eve", "Finn", "Gus"):
        go("customer", "add", name, "--at", "2026-01-01")  # contacted recently enough: not "silent"
    # Cleo: every 35 days (and an hour, across the end of summer time), the last 77 days ago:
    # 77 > 2 x 35, a silent buyer.
    for at in ("2025-10-18 10:00", "2025-11-22 10:00", "2025-12-27 10:00"):
        go("order", "add", "cleo", "--item", "Orchid @20", "--at", at)
    # Dan: the same habit, the last order 3 weeks ago: not overdue.
    for at in ("2026-01-17 10:00", "2026-02-21 10:00"):
        go("order", "add", "dan", "--item", "Orchid @20", "--at", at)
    go("order", "add", "dan", "--item", "Orchid @20", "--at", "2025-12-13 10:00")
    # Eve: two orders long ago are one gap, no habit yet.
    for at in ("2025-06-01 10:00", "2025-07-01 10:00"):
        go("order", "add", "eve", "--item", "Pot @5", "--at", at)
    # Finn: three orders, two of them the same afternoon (one purchase): one gap.
    for at in ("2025-09-01 10:00", "2025-09-01 15:00", "2025-10-01 10:00"):
        go("order", "add", "finn", "--item", "Pot @5", "--at", at)
    # Gus: Cleo's habit, but lost: the relationship has ended.
    for at in ("2025-10-18 10:00", "2025-11-22 10:00", "2025-12-27 10:00"):
        go("order", "add", "gus", "--item", "Pot @5", "--at", at)
    go("customer", "lost", "gus", "--reason", "moved")
    return go


def _silent_buyer_suggestions(run, *config: str) -> list[dict]:
    return [item for item in run.json(*config, "care", "suggest") if item["rule"] == "silent-buyer"]


def test_care_suggest_proposes_a_check_in_for_a_silent_buyer_with_its_evidence(buyers, run):
    [found] = _silent_buyer_suggestions(run)
    assert (found["customer_name"], found["kind"], found["evidence"]) == ("Cleo", "check-in", CLEO_EVIDENCE)
    assert found["evidence_at"] == "2025-12-27T09:00:00+00:00" and found["days"] == 77
    table = run("care", "suggest", ok=True).stdout
    assert "silent-buyer" in table and CLEO_EVIDENCE in table


def test_a_check_in_made_since_the_last_order_covers_the_silent_buyer(buyers, run):
    [found] = _silent_buyer_suggestions(run)
    ids = [str(i) for i, item in enumerate(run.json("care", "suggest"), 1) if item["rule"] == "silent-buyer"]
    run("care", "suggest", "--apply", ",".join(ids), "--yes", ok=True)
    assert _silent_buyer_suggestions(run) == []
    [made] = [f for f in run.json("followup", "list") if f["customer_id"] == found["customer_id"]]
    assert made["note"] == f"silent-buyer: {CLEO_EVIDENCE}" and made["source"] == "suggest:silent-buyer"


def test_the_factor_comes_from_the_config(buyers, run, tmp_path):
    config = tmp_path / "care.toml"
    config.write_text("[care]\nsilent_buyer_factor = 2.5\n")  # 77 days < 2.5 x 35
    assert _silent_buyer_suggestions(run, "--config", str(config)) == []
    config.write_text("[care]\nsilent_buyer_factor = 2.1\n")
    assert [item["customer_name"] for item in _silent_buyer_suggestions(run, "--config", str(config))] == ["Cleo"]
    config.write_text("[care]\nsilent_buyer_factor = 0.5\n")
    result = run("--config", str(config), "care", "suggest")
    assert result.exit_code == 1 and "silent_buyer_factor" in result.stderr and "from 1 to 100" in result.stderr


def test_health_loses_ten_points_for_a_silent_buyer_and_says_why(buyers, run):
    [cleo] = run.json("customer", "health", "cleo")
    assert cleo["score"] == 90
    assert cleo["factors"] == [{"factor": "silent_buyer", "points": -10, "detail": CLEO_EVIDENCE}]
    scores = {row["customer_name"]: row["score"] for row in run.json("customer", "health")}
    assert scores == {"Cleo": 90, "Dan": 100, "Eve": 100, "Finn": 100}  # Gus is lost, so not listed


def test_an_order_now_ends_the_silence(buyers, run):
    run("order", "add", "cleo", "--item", "Orchid @20", "--at", "2026-03-14 09:00", ok=True)
    assert _silent_buyer_suggestions(run) == []
    assert run.json("customer", "health", "cleo")[0]["factors"] == []
