"""The ticket export carries business-time durations and an SLA verdict per ticket."""

from __future__ import annotations

import csv
import io


def _export(run, *args):
    return {int(r["id"]): r for r in csv.DictReader(io.StringIO(run(*args, "export", "tickets", ok=True).stdout))}


def test_ticket_export_has_business_durations_and_sla_breached(shop, tmp_path):
    config = tmp_path / "sla.toml"
    config.write_text('[sla.high]\nfirst_response = "1h"\n[sla.normal]\nfirst_response = "4h"\n')
    # Ticket 1 (high): opened Friday 09:00 Berlin, answered Saturday 10:00 -> 25h wall, 8h business.
    shop("ticket", "reply", "1", "On it", "--at", "2026-03-14 10:00", ok=True)
    # Ticket 2 (normal): opened and answered within the hour.
    shop("ticket", "open", "ben", "Quick one", "--at", "2026-03-14 09:00", ok=True)
    shop("ticket", "reply", "2", "Done", "--at", "2026-03-14 09:30", ok=True)
    # Ticket 3 (low): no target for its priority.
    shop("ticket", "open", "ben", "No hurry", "--priority", "low", ok=True)
    rows = _export(shop, "--config", str(config))
    assert rows[1]["first_response_s"] == str(25 * 3600)
    assert rows[1]["first_response_bs"] == str(8 * 3600)  # Friday 09:00-17:00; Saturday closed
    assert [rows[i]["sla_breached"] for i in (1, 2, 3)] == ["1", "0", ""]


def test_without_sla_targets_the_column_is_there_and_empty(shop):
    rows = _export(shop)
    assert rows[1]["sla_breached"] == ""
    assert list(rows[1]).index("sla_breached") == list(rows[1]).index("ces") + 1
