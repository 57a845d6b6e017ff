"""Edge states users met (issue 12): an empty shop with business hours and an SLA, a corrupt page."""

from __future__ import annotations

import json

BUSINESS_HOURS_AND_SLA = '[business_hours]\nenabled = true\n[sla.normal]\nfirst_response = "4h"\nresolution = "2d"\n'


def test_exporting_tickets_of_a_shop_without_tickets_with_business_hours_and_an_sla_gives_no_rows(run, isolated):
    config = isolated / "config.toml"
    config.write_text(BUSINESS_HOURS_AND_SLA)
    result = run("--config", str(config), "export", "tickets")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith("id,") and len(result.stdout.splitlines()) == 1
    listed = run("--config", str(config), "export", "tickets", "--format", "json")
    assert listed.exit_code == 0, listed.stderr
    assert json.loads(listed.stdout) == []
