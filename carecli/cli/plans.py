"""`carecli plan list|show`: the care plans of the config ([[care.plans]]) and what they have
scheduled; `care plans` (cli/care.py) schedules or checks them."""

from __future__ import annotations

from typing import Annotated

import typer

from carecli.cli.options import FormatOpt, RawOpt
from carecli.cli.output import columns_of, counted, emit_record, emit_rows, message
from carecli.cli.state import STATE

app = typer.Typer(no_args_is_help=True)

PLAN_COLUMNS = columns_of("plans")
PLAN_FIELDS = columns_of("plans", "name", "products", "asset", "scheduled", "done")
STEP_COLUMNS = columns_of("plan_steps", "step", "when", "kind", "note", "template", "scheduled", "done")
NO_PLANS = "no care plans: add [[care.plans]] to the config (see config.example.toml)"


def say_scheduled(found) -> None:
    """One line on what a write's plans did: the assets they made and the follow-ups they scheduled."""
    if found.assets:
        shown = ", ".join(f"#{a.asset_id} {a.name} ({a.plan})" for a in found.assets[:5])
        more = f" and {len(found.assets) - 5} more" if len(found.assets) > 5 else ""
        message(f"added {counted(len(found.assets), 'asset')} for its care plan: {shown}{more}")
    if found.followups:
        shown = ", ".join(f"#{p.followup_id} {p.kind} ({p.plan})" for p in found.followups[:5])
        more = f" and {len(found.followups) - 5} more" if len(found.followups) > 5 else ""
        message(f"scheduled {counted(len(found.followups), 'plan follow-up')}: {shown}{more}")
    for tally in found.tallies:
        if tally.too_old:
            message(
                f"{tally.plan} step {tally.step} ({tally.kind}) not scheduled for {counted(tally.too_old, tally.targets[:-1])}:"
                " due more than [care] plans_backfill_days ago"
            )


@app.command("list")
def list_(fmt: FormatOpt = "table", raw: RawOpt = False) -> None:
    """The care plans of the config, with their follow-ups scheduled and done."""
    from carecli.records import plans

    rows = plans.plan_rows(STATE.conn, STATE.settings)
    emit_rows(rows, PLAN_COLUMNS, fmt, tz=STATE.settings.tz, empty=NO_PLANS, raw=raw)


@app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="the plan's name, as in the config")],
    fmt: FormatOpt = "table",
    raw: RawOpt = False,
) -> None:
    """One care plan: its products, whether it makes assets, and its steps."""
    from carecli.records import plans

    record = plans.plan_record(STATE.conn, STATE.settings, name)
    emit_record(
        record,
        fmt,
        fields=PLAN_FIELDS,
        sections={"steps": STEP_COLUMNS},
        tz=STATE.settings.tz,
        title=f"Plan {record['name']}",
        raw=raw,
    )
