"""`carecli asset ...`: the things customers own that need care or service, and their services."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from carecli.cli import completing
from carecli.cli.options import TIME_HELP, AtOpt, FormatOpt, LimitOpt, record_id
from carecli.cli.output import columns_of, emit_record, emit_rows, message
from carecli.cli.state import STATE

app = typer.Typer(no_args_is_help=True)

ASSET_COLUMNS = columns_of(
    "assets", "id", "customer_id", "customer_name", "name", "serial", "plan", "since", "last_serviced_at"
)
SHOW_COLUMNS = columns_of(
    "assets",
    "id",
    "customer_id",
    "customer_name",
    "name",
    "serial",
    "plan",
    "since",
    "order_line_id",
    "last_serviced_at",
    "service_count",
    "created_at",
)
SERVICE_COLUMNS = columns_of("services", "id", "serviced_at", "note")
AssetArg = Annotated[int, typer.Argument(help="asset id", parser=record_id)]


def _show(conn, asset_id: int, fmt: str) -> None:
    from carecli.records import assets

    record = dict(assets.get_asset(conn, asset_id))
    record["services"] = assets.services(conn, asset_id)
    emit_record(
        record,
        fmt,
        fields=SHOW_COLUMNS,
        sections={"services": SERVICE_COLUMNS},
        tz=STATE.settings.tz,
        title=f"Asset #{asset_id}",
    )


@app.command("add")
def add(
    customer: Annotated[str, typer.Argument(help="customer id, email or name", shell_complete=completing.customers)],
    name: Annotated[str, typer.Argument(help="what it is, e.g. 'City bike'")],
    serial: Annotated[Optional[str], typer.Option("--serial", help="its serial or frame number")] = None,
    plan: Annotated[Optional[str], typer.Option("--plan", help="the care plan it follows")] = None,
    since: Annotated[
        Optional[str], typer.Option("--since", help=f"since when they own it (default now); {TIME_HELP}")
    ] = None,
    fmt: FormatOpt = "table",
) -> None:
    """Record something a customer owns that needs care or service; --plan schedules that care
    plan's steps for it."""
    from carecli.cli.plans import say_scheduled
    from carecli.records import assets, customers, plans

    when = STATE.happened(since, option="--since")
    if plan is not None:
        plan = plans.find_plan(STATE.settings, plan)["name"]
    with STATE.write() as conn:
        row = customers.resolve_customer(conn, customer)
        asset_id = assets.add_asset(
            conn, customer_id=row["id"], name=name, since=when, now=STATE.now, serial=serial, plan=plan
        )
        scheduled = plans.schedule_for_asset(conn, asset_id, now=STATE.now, settings=STATE.settings) if plan else None
    message(f"added asset #{asset_id} for {row['name']}")
    if scheduled is not None:
        say_scheduled(scheduled)
    _show(STATE.conn, asset_id, fmt)


@app.command("list")
def list_(
    customer: Annotated[
        Optional[str],
        typer.Option("--customer", "-c", help="only this customer's", shell_complete=completing.customers),
    ] = None,
    limit: LimitOpt = 0,
    fmt: FormatOpt = "table",
) -> None:
    """Assets, by customer."""
    from carecli.records import assets, customers

    conn = STATE.conn
    customer_id = customers.resolve_customer(conn, customer)["id"] if customer else None
    rows = assets.list_assets(conn, customer_id=customer_id, limit=limit)
    emit_rows(rows, ASSET_COLUMNS, fmt, tz=STATE.settings.tz, empty="no assets match")


@app.command("show")
def show(asset_id: AssetArg, fmt: FormatOpt = "table") -> None:
    """An asset with its services."""
    _show(STATE.conn, asset_id, fmt)


@app.command("serviced")
def serviced(
    asset_id: AssetArg,
    note: Annotated[Optional[str], typer.Option("--note", help="what was done")] = None,
    at: AtOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Record that an asset was serviced (now, or --at when); its plan's next service reminder
    moves to the next occurrence after that service."""
    from carecli.records import assets, followups, plans

    when = STATE.happened(at)
    with STATE.write() as conn:
        assets.record_service(conn, asset_id, serviced_at=when, now=STATE.now, note=note)
        moved = plans.after_service(conn, STATE.settings, asset_id, now=STATE.now)
    message(f"recorded a service of asset #{asset_id}")
    for reminder in moved:
        day = followups.due_day(reminder, STATE.settings.tz)
        message(f"moved follow-up #{reminder['id']} ({reminder['kind']}, plan {reminder['plan']}) to {day}")
    _show(STATE.conn, asset_id, fmt)
