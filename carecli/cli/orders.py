"""`carecli order ...`: record what customers bought, list orders, show one with its line items."""

from __future__ import annotations

from typing import Annotated, List, Optional

import typer

from carecli.cli import completing
from carecli.cli.options import AtOpt, FormatOpt, LimitOpt, SinceOpt
from carecli.cli.output import columns_of, emit_record, emit_rows, message
from carecli.cli.state import STATE

app = typer.Typer(no_args_is_help=True)

ORDER_COLUMNS = columns_of(
    "orders", "id", "ref", "customer_id", "customer_name", "ordered_at", "lines", "total", "currency", "source"
)
SHOW_COLUMNS = columns_of(
    "orders", "id", "ref", "customer_id", "customer_name", "ordered_at", "total", "currency", "source", "created_at"
)
LINE_COLUMNS = columns_of("order_lines", "position", "product", "qty", "amount")
CustomerArg = Annotated[str, typer.Argument(help="customer id, email or name", shell_complete=completing.customers)]

ITEM_HELP = (
    "a line item: the product's name, optionally with ' xN' for the quantity and ' @PRICE' for the "
    "line's amount, e.g. --item 'orchid x2 @29.00' (repeat --item for more lines)"
)


def parse_item(text: str):
    """`orchid`, `orchid x2`, `orchid @14.50`, `orchid x2 @29.00` -> a Line (the amount is the line's)."""
    from carecli.core.errors import InvalidInput
    from carecli.records.orders import Line

    product, qty, amount = text.strip(), 1, None
    if "@" in product:
        product, _, price = product.rpartition("@")
        try:
            amount = float(price.strip().replace(",", "."))
        except ValueError:
            raise InvalidInput(
                f"'{price.strip()}' in --item '{text}' is not an amount", "e.g. --item 'orchid @29.90'"
            ) from None
    words = product.split()
    if len(words) > 1 and words[-1].lower().startswith("x") and words[-1][1:].isdigit():
        qty = int(words[-1][1:])
        words = words[:-1]
    return Line(" ".join(words), qty, amount)


@app.command("add")
def add(
    customer: CustomerArg,
    item: Annotated[List[str], typer.Option("--item", "-i", help=ITEM_HELP)],
    ref: Annotated[Optional[str], typer.Option("--ref", help="the shop's order number (unique), e.g. 1042")] = None,
    currency: Annotated[Optional[str], typer.Option("--currency", help="e.g. EUR")] = None,
    at: AtOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Record an order: one --item per line item, e.g. `order add alice --item 'orchid x2 @29.00' --item 'pot'`."""
    from carecli.cli.plans import say_scheduled
    from carecli.records import customers, orders, plans

    lines = [parse_item(text) for text in item]
    when = STATE.happened(at)
    with STATE.write() as conn:
        row = customers.resolve_customer(conn, customer)
        added = orders.add_order(
            conn, customer_id=row["id"], lines=lines, ordered_at=when, now=STATE.now, ref=ref, currency=currency
        )
        scheduled = plans.schedule_for_orders(
            conn, [added.order_id], now=STATE.now, settings=STATE.settings, tally=True
        )
        order = orders.get_order(conn, added.order_id)
        record = dict(order)
        record["items"] = orders.order_lines(conn, added.order_id)
    number = f" ({order['ref']})" if order["ref"] else ""
    message(f"added order #{order['id']}{number} for {row['name']}: {len(lines)} line(s)")
    say_scheduled(scheduled)
    emit_record(record, fmt, fields=SHOW_COLUMNS, sections={"items": LINE_COLUMNS}, tz=STATE.settings.tz)


@app.command("list")
def list_(
    customer: Annotated[
        Optional[str],
        typer.Option("--customer", "-c", help="only this customer's", shell_complete=completing.customers),
    ] = None,
    since: SinceOpt = None,
    limit: LimitOpt = 0,
    fmt: FormatOpt = "table",
) -> None:
    """Orders, newest first."""
    from carecli.records import customers, orders

    conn = STATE.conn
    customer_id = customers.resolve_customer(conn, customer)["id"] if customer else None
    start = STATE.when(since, option="--since") if since else None
    rows = orders.list_orders(conn, customer_id=customer_id, since=start, limit=limit)
    emit_rows(rows, ORDER_COLUMNS, fmt, tz=STATE.settings.tz, empty="no orders match")


@app.command("show")
def show(
    order: Annotated[str, typer.Argument(help="the shop's order number or carecli's order id")],
    fmt: FormatOpt = "table",
) -> None:
    """An order with its line items."""
    from carecli.records import orders

    conn = STATE.conn
    row = orders.resolve_order(conn, order)
    record = dict(row)
    record["items"] = orders.order_lines(conn, row["id"])
    emit_record(
        record,
        fmt,
        fields=SHOW_COLUMNS,
        sections={"items": LINE_COLUMNS},
        tz=STATE.settings.tz,
        title=f"Order #{row['id']}",
    )
