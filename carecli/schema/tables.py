"""The column registry: for each table people see, every column's machine key, label and kind.

The listings, `show`, exports and the importer's field names all take their names from here, so
one figure has one name in every output. Cheap to import: no third-party modules.

`key` is the name in JSON and CSV output and in import mappings; `name` is the stored column when
it differs (`replies` is stored as `reply_count`); `label` heads table columns for people. Kinds:
text (free text), code (a config vocabulary), word (a CHECK-constrained value), time, duration
(seconds), int, number, score (a whole number: NPS), pct, tags, bool, json, rule (RFC 5545 text: shown in words, one line in CSV). `computed` columns are worked out by a listing, not stored;
the last tables below hold only such columns (figures of `today`, `care suggest`, `customer health`
and `care churn`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Col:
    key: str
    label: str = ""
    kind: str = "text"
    name: str = ""
    computed: bool = False
    # KPI figures only: what a share or a mean counts (`csat.n`, or keys joined by `+`), shown
    # with it ("73 % of 11"); and the unit of a count's change ("+2 tickets").
    of: str = ""
    unit: str = ""

    @property
    def column(self) -> str:
        """The stored column's name."""
        return self.name or self.key

    @property
    def title(self) -> str:
        return self.label or self.key.replace("_", " ")


def _table(*cols: Col) -> dict[str, Col]:
    return {c.key: c for c in cols}


def _figure(key: str, label: str, kind: str = "int", *, of: str = "", unit: str = "") -> Col:
    return Col(key, label, kind, computed=True, of=of, unit=unit)


def _durations(block: str, what: str, count: str) -> tuple[Col, ...]:
    n = f"{block}.n"
    return (
        _figure(n, count, unit="ticket"),
        _figure(f"{block}.mean", f"Mean {what}", "duration", of=n),
        _figure(f"{block}.median", f"Median {what}", "duration"),
        _figure(f"{block}.p90", f"90th percentile {what}", "duration"),
    )


_CUSTOMER_REFS = (
    Col("customer_id", "customer id", "int"),
    Col("customer_name", "customer", computed=True),
    Col("customer_email", "email", computed=True),
)

TABLES: dict[str, dict[str, Col]] = {
    "customers": _table(
        Col("id", kind="int"),
        Col("external_id", "external id"),
        Col("name"),
        Col("email"),
        Col("phone"),
        Col("tags", kind="tags"),
        Col("notes"),
        Col("created_at", "created", "time"),
        Col("lost_at", "lost", "time"),
        Col("lost_reason"),
        Col("open_tickets", "open", "int", computed=True),
        Col("last_contact_at", "last contact", "time", computed=True),
        Col("opted_out_at", "no care mail since", "time", computed=True),  # customer opt-out (table consent)
        Col("orders", kind="int", computed=True),  # `customer show`: how many orders (table orders)
    ),
    "tickets": _table(
        Col("id", kind="int"),
        Col("external_id", "external id"),
        Col("order_id", "order", "int"),  # the order a ticket is about (`ticket open --order`)
        Col("asset_id", "asset", "int"),
        *_CUSTOMER_REFS,
        Col("subject"),
        Col("status", kind="word"),
        Col("priority", kind="code"),
        Col("channel", kind="code"),
        Col("category", kind="code"),
        Col("tags", kind="tags"),
        Col("created_at", "opened", "time"),
        Col("first_response_at", "first response", "time"),
        Col("first_closed_at", "first closed", "time"),
        Col("closed_at", "closed", "time"),
        Col("updated_at", "updated", "time"),
        Col("first_response_s", "first response time", "duration"),
        Col("first_resolution_s", "first resolution time", "duration"),
        Col("resolution_s", "resolution time", "duration"),
        Col("first_response_bs", "first response business time", "duration"),
        Col("first_resolution_bs", "first resolution business time", "duration"),
        Col("resolution_bs", "resolution business time", "duration"),
        Col("replies", "replies", "int", name="reply_count"),
        Col("reopens", "reopens", "int", name="reopen_count"),
        Col("csat", "CSAT", "int", computed=True),
        Col("ces", "CES", "int", computed=True),
        Col("sla_breached", "SLA breached", "int", computed=True),
        Col("resolution"),
        # Listing figures (agenda, today): worked out at the time of asking.
        Col("age_s", "age", "duration", computed=True),
        Col("waiting_s", "waiting", "duration", computed=True),
    ),
    "customer_addresses": _table(
        Col("kind", kind="word"),
        Col("address", "address", "code"),
        Col("created_at", "since", "time"),
    ),
    "interactions": _table(
        Col("id", kind="int"),
        Col("at", kind="time"),
        *_CUSTOMER_REFS,
        Col("ticket_id", "ticket", "int"),
        Col("ticket_external_id", "ticket external id", computed=True),
        Col("direction", kind="word"),
        Col("channel", kind="code"),
        Col("body", "message"),
        Col("followup_id", "follow-up", "int"),
    ),
    "followups": _table(
        Col("id", kind="int"),
        *_CUSTOMER_REFS,
        Col("ticket_id", "ticket", "int"),
        Col("kind", kind="code"),
        Col("note"),
        Col("due_at", "due", "time"),
        Col("due_day", "due day", computed=True),
        Col("all_day", "all day", "bool"),
        Col("overdue", kind="bool", computed=True),
        Col("rule", "repeats", "rule", computed=True),
        Col("recurrence", "repeats", "rule"),
        Col("status", kind="word"),
        Col("completed_at", "completed", "time"),
        Col("on_time", "on time", "bool", computed=True),
        Col("outcome"),
        Col("source"),
        Col("template", kind="code"),
        Col("plan", kind="code"),
        Col("plan_step", "plan step", "int"),
        Col("order_id", "order", "int"),
        Col("asset_id", "asset", "int"),
        Col("previous_id", "previous", "int"),
        Col("created_at", "created", "time"),
    ),
    "surveys": _table(
        Col("id", kind="int"),
        Col("kind", kind="word"),
        Col("score", kind="int"),
        *_CUSTOMER_REFS,
        Col("ticket_id", "ticket", "int"),
        Col("comment"),
        Col("at", kind="time"),
        Col("superseded_at", "replaced", "time"),  # NULL while the answer is current
    ),
    "events": _table(
        Col("id", kind="int"),
        Col("at", kind="time"),
        Col("kind", kind="code"),
        Col("customer_id", "customer id", "int"),
        Col("ticket_id", "ticket", "int"),
        Col("detail", kind="json"),
        Col("voided_by", "voided by", "code"),
    ),
    "attachments": _table(
        Col("id", kind="int"),
        Col("ticket_id", "ticket", "int"),
        Col("interaction_id", "interaction", "int"),
        Col("name"),  # the sender's file name, as data: saved files get safe_name() of it
        Col("content_type", "type", "code"),
        Col("size", "bytes", "int"),
        Col("stored", "kept", "bool"),  # no: larger than [mail] attachment_max_size, only listed
        Col("sent_at", "sent", "time", computed=True),
        Col("sender", computed=True),
        Col("sha256"),
    ),
    "orders": _table(
        Col("id", kind="int"),
        Col("ref", "order number"),
        *_CUSTOMER_REFS,
        Col("ordered_at", "ordered", "time"),
        Col("lines", kind="int", computed=True),
        Col("total", kind="number"),
        Col("currency", kind="code"),
        Col("source", kind="code"),
        Col("created_at", "created", "time"),
    ),
    "order_lines": _table(
        Col("id", kind="int"),
        Col("order_id", "order", "int"),
        Col("position", "#", "int"),
        Col("product"),
        Col("qty", kind="int"),
        Col("amount", kind="number"),
    ),
    "assets": _table(
        Col("id", kind="int"),
        *_CUSTOMER_REFS,
        Col("name"),
        Col("serial"),
        Col("plan", kind="code"),
        Col("since", kind="time"),
        Col("order_line_id", "order line", "int"),
        Col("last_serviced_at", "last serviced", "time", computed=True),
        Col("service_count", "services", "int", computed=True),
        Col("created_at", "created", "time"),
    ),
    "services": _table(
        Col("id", kind="int"),
        Col("asset_id", "asset", "int"),
        Col("serviced_at", "serviced", "time"),
        Col("note"),
        Col("created_at", "created", "time"),
    ),
    "outbox": _table(
        Col("id", kind="int"),
        Col("state", kind="word"),  # queued, sending (fate unknown when left so), sent, failed, cancelled
        Col("kind", kind="word"),  # reply, outreach (care nobody asked for), report
        Col("ticket_id", "ticket", "int"),
        Col("customer_id", "customer id", "int"),
        Col("customer_name", "customer", computed=True),
        Col("recipient", "to"),
        Col("subject"),
        Col("due_at", "due", "time"),
        Col("attempts", kind="int"),
        Col("sent_at", "sent", "time"),
        Col("server_reply", "server said"),
        Col("last_error", "last error"),
        Col("cancelled_why", "why cancelled"),
        Col("rule"),
        Col("message_id", "message id"),
        Col("created_at", "queued", "time"),
    ),
    "agenda": _table(
        Col("followups_due_count", "follow-ups due", computed=True),
        Col("followups_overdue_count", "overdue", computed=True),
        Col("waiting_on_us_count", "waiting on us", computed=True),
        Col("waiting_on_customer_count", "waiting on the customer", computed=True),
        Col("sla_breaching_count", "SLA breached or at risk", computed=True),
    ),
    # `today --week` / `--days N`: one row per follow-up or SLA deadline falling on a day ahead
    "days_ahead": _table(
        Col("day", kind="word", computed=True),  # the local day, YYYY-MM-DD
        Col("due_at", "due", "time", computed=True),
        Col("all_day", "all day", "bool", computed=True),
        Col("item", "what", "code", computed=True),  # followup, first_response, resolution
        Col("state", kind="word", computed=True),  # scheduled, repeat (a later occurrence), due, breached
        Col("followup_id", "follow-up", "int", computed=True),
        Col("ticket_id", "ticket", "int", computed=True),
        Col("customer_id", "customer id", "int", computed=True),
        Col("customer_name", "customer", computed=True),
        Col("kind", kind="code", computed=True),  # the follow-up's kind
        Col("priority", kind="word", computed=True),  # the ticket's priority
        Col("about", computed=True),  # the follow-up's note, or the ticket's subject
    ),
    "sla_breaches": _table(
        Col("target", computed=True),
        Col("state", kind="word", computed=True),
        Col("due_at", "deadline", "time", computed=True),
        Col("overdue_s", "over by", "duration", computed=True),
    ),
    "suggestions": _table(
        Col("id", kind="int", computed=True),  # its place in the list: `care suggest --apply 2,5`
        Col("rule", kind="word", computed=True),
        *(Col(c.key, c.label, c.kind, computed=True) for c in _CUSTOMER_REFS[:2]),
        Col("kind", kind="code", computed=True),
        Col("ticket_id", "ticket", "int", computed=True),
        Col("evidence", computed=True),
        Col("evidence_at", "evidence at", "time", computed=True),
        Col("score", kind="int", computed=True),
        Col("days", kind="int", computed=True),
        Col("due_at", "due", "time", computed=True),
    ),
    "templates": _table(  # `template list`
        Col("name", kind="code", computed=True),
        Col("subject", computed=True),
        Col("source", computed=True),
    ),
    "care_run": _table(  # `care run`: one row per action of a rule
        Col("rule", kind="code", computed=True),
        Col("action", kind="word", computed=True),
        *(Col(c.key, c.label, c.kind, computed=True) for c in _CUSTOMER_REFS[:2]),
        Col("ticket_id", "ticket", "int", computed=True),
        Col("followup_id", "follow-up", "int", computed=True),
        Col("template", kind="code", computed=True),
        Col("survey", kind="word", computed=True),
        Col("reason", "why", computed=True),
        Col("result", computed=True),
        Col("outbox_id", "outbox", "int", computed=True),
    ),
    # Care plans (issue 17): the [[care.plans]] of the config, their steps, and what they schedule.
    "plans": _table(
        Col("name", "plan", "code", computed=True),
        Col("products", computed=True),  # the plan's globs of line-item names, comma-separated
        Col("asset", "makes assets", "bool", computed=True),
        Col("steps", kind="int", computed=True),
        Col("scheduled", kind="int", computed=True),  # its follow-ups still scheduled
        Col("done", kind="int", computed=True),
    ),
    "plan_steps": _table(
        Col("plan", kind="code", computed=True),
        Col("step", kind="int", computed=True),
        Col("when", computed=True),  # "7d after the purchase", "every 6 months"
        Col("kind", kind="code", computed=True),
        Col("note", computed=True),
        Col("template", kind="code", computed=True),
        Col("targets", kind="word", computed=True),  # orders | assets
        Col("matched", kind="int", computed=True),  # orders or assets (to be made ones included) the plan matches
        Col("scheduled", kind="int", computed=True),
        Col("to_schedule", "to schedule", "int", computed=True),
        Col("too_old", "too old", "int", computed=True),  # one-off steps due before plans_backfill_days
        Col("done", kind="int", computed=True),
    ),
    "plan_schedule": _table(  # `care plans --check --list`: each follow-up a plan would schedule
        Col("plan", kind="code", computed=True),
        Col("step", kind="int", computed=True),
        Col("kind", kind="code", computed=True),
        *(Col(c.key, c.label, c.kind, computed=True) for c in _CUSTOMER_REFS[:2]),
        Col("order_id", "order", "int", computed=True),
        Col("asset_id", "asset", "int", computed=True),
        Col("due_at", "due", "time", computed=True),
        Col("reason", "why", computed=True),
    ),
    "health": _table(
        Col("customer_id", "id", "int", computed=True),
        Col("customer_name", "customer", computed=True),
        Col("score", kind="int", computed=True),
        Col("factors", kind="json", computed=True),
        Col("last_contact_at", "last contact", "time", computed=True),
    ),
    # `kpi` and the reports: every figure of docs/metrics.md, in its order, by its JSON/CSV key.
    "kpi": _table(
        _figure("tickets.opened", "Tickets opened", unit="ticket"),
        _figure("tickets.closed", "Tickets closed", unit="ticket"),
        _figure("tickets.reopened", "Tickets reopened", unit="ticket"),
        _figure("tickets.backlog", "Backlog (open or pending)", unit="ticket"),
        *_durations("first_response_s", "first reply", "Tickets with a first reply"),
        *_durations("resolution_s", "time to close", "Tickets closed (timed)"),
        *_durations("first_resolution_s", "time to first close", "Tickets closed for the first time"),
        _figure("fcr_pct", "Solved at first contact", "pct", of="tickets.closed"),
        _figure("reopen_pct", "Reopened after closing", "pct", of="tickets.closed"),
        _figure("csat.n", "CSAT answers", unit="answer"),
        _figure("csat.mean", "Mean CSAT (1-5)", "number", of="csat.n"),
        _figure("csat.satisfied_pct", "Happy customers (CSAT 4-5)", "pct", of="csat.n"),
        _figure("ces.n", "CES answers", unit="answer"),
        _figure("ces.mean", "Mean effort score (CES 1-7)", "number", of="ces.n"),
        _figure("ces.easy_pct", "Easy to deal with (CES 5-7)", "pct", of="ces.n"),
        _figure("nps.n", "NPS answers", unit="answer"),
        _figure("nps.promoters", "Promoters (NPS 9-10)", unit="answer"),
        _figure("nps.passives", "Passives (NPS 7-8)", unit="answer"),
        _figure("nps.detractors", "Detractors (NPS 0-6)", unit="answer"),
        _figure("nps.score", "Net Promoter Score", "score", of="nps.n"),
        _figure("followups.due", "Follow-ups due", unit="follow-up"),
        _figure("followups.done", "Follow-ups done", unit="follow-up"),
        _figure("followups.on_time", "Follow-ups done on time", unit="follow-up"),
        _figure("followups.overdue", "Follow-ups overdue", unit="follow-up"),
        _figure("followups.on_time_pct", "Follow-ups on time", "pct", of="followups.done+followups.overdue"),
        _figure("proactive_pct", "Proactive (we reached out)", "pct"),
        _figure("retention.customers_at_start", "Customers at the start", unit="customer"),
        _figure("retention.lost", "Customers lost", unit="customer"),
        _figure("retention.won_back", "Customers won back", unit="customer"),
        _figure("retention.new", "New customers", unit="customer"),
        _figure("retention.retention_pct", "Customers kept", "pct", of="retention.customers_at_start"),
        _figure("retention.churn_pct", "Customers lost (churn)", "pct", of="retention.customers_at_start"),
        _figure("sla.tickets", "Tickets with SLA targets", unit="ticket"),
        _figure("sla.targets", "SLA targets due", unit="target"),
        _figure("sla.first_response_breached", "First-reply targets missed", unit="target"),
        _figure("sla.first_response_met", "First-reply targets met", unit="target"),
        _figure("sla.resolution_breached", "Resolution targets missed", unit="target"),
        _figure("sla.resolution_met", "Resolution targets met", unit="target"),
        _figure("sla.breach_pct", "SLA targets missed", "pct", of="sla.targets"),
        _figure("loyalty.first_buyers", "First-time buyers", unit="customer"),
        _figure("loyalty.repeat_buyers", "First-time buyers who ordered again", unit="customer"),
        _figure("loyalty.repeat_purchase_pct", "Repeat purchase", "pct", of="loyalty.first_buyers"),
        _figure("loyalty.buyers", "Buyers", unit="customer"),
        _figure("loyalty.returning_buyers", "Returning buyers", unit="customer"),
        _figure("loyalty.returning_customer_pct", "Returning customers", "pct", of="loyalty.buyers"),
        _figure("loyalty.revenue", "Order totals", "number"),
        _figure("loyalty.returning_revenue", "Order totals from returning buyers", "number"),
        _figure("loyalty.returning_revenue_pct", "Revenue from returning buyers", "pct"),
        _figure("loyalty.plan_followups_due", "Plan follow-ups due", unit="follow-up"),
        _figure("loyalty.plan_followups_done", "Plan follow-ups done", unit="follow-up"),
        _figure("loyalty.plan_followups_on_time", "Plan follow-ups done on time", unit="follow-up"),
        _figure("loyalty.plan_followups_overdue", "Plan follow-ups overdue", unit="follow-up"),
        _figure(
            "loyalty.plan_on_time_pct",
            "Plan follow-ups on time",
            "pct",
            of="loyalty.plan_followups_done+loyalty.plan_followups_overdue",
        ),
        _figure("loyalty.service_reminders_due", "Service reminders due", unit="reminder"),
        _figure("loyalty.services_on_time", "Services on time", unit="reminder"),
        _figure("loyalty.services_late", "Services late", unit="reminder"),
        _figure(
            "loyalty.service_on_time_pct",
            "Serviced on time",
            "pct",
            of="loyalty.services_on_time+loyalty.services_late",
        ),
        _figure("loyalty.unhappy_customers", "Unhappy customers (CSAT/NPS)", unit="customer"),
        _figure("loyalty.recovered_customers", "Unhappy customers who ordered again", unit="customer"),
        _figure("loyalty.recovered_pct", "Recovered after a bad score", "pct", of="loyalty.unhappy_customers"),
    ),
    "churn": _table(
        Col("reason", computed=True),
        Col("lost", kind="int", computed=True),
        Col("won_back", "won back", "int", computed=True),
        Col("share_pct", "share", "pct", computed=True),
    ),
    "undo_steps": _table(
        Col("id", kind="int"),
        Col("at", kind="time"),
        Col("command"),
        Col("changes", "what undo reverts", computed=True),
        Col("state", "can be undone", computed=True),
    ),
    "trash": _table(
        Col("kind", kind="code"),
        Col("id", kind="int", name="ref_id"),
        Col("label", "what"),
        Col("customer_id", "customer id", "int"),
        Col("reason", kind="code"),
        Col("into_id", "merged into", "int"),
        Col("rows", kind="int", computed=True),
        Col("at", "deleted at", "time"),
    ),
}


# Which columns drop out of a table on a narrow terminal, first to last: what a person can do
# without (details one `show` away) goes before what tells one row from another. Unlisted
# columns (ids, subjects, names, statuses, the main time) never drop; free text is cut instead.
DROPS: dict[str, tuple[str, ...]] = {
    "customers": (
        "notes",
        "external_id",
        "lost_reason",
        "lost_at",
        "phone",
        "created_at",
        "tags",
        "last_contact_at",
        "email",
    ),
    "tickets": (
        "first_response_at",
        "first_closed_at",
        "closed_at",
        "updated_at",
        "external_id",
        "customer_id",
        "customer_email",
        "tags",
        "category",
        "channel",
        "age_s",
        "priority",
    ),
    "interactions": ("ticket_external_id", "followup_id", "customer_id", "customer_email", "channel", "direction"),
    "followups": (
        "plan_step",
        "order_id",
        "asset_id",
        "plan",
        "template",
        "created_at",
        "previous_id",
        "source",
        "outcome",
        "recurrence",
        "completed_at",
        "on_time",
        "all_day",
        "due_day",
        "customer_id",
        "ticket_id",
        "rule",
        "overdue",
        "kind",
    ),
    "days_ahead": ("state",),
    "surveys": ("superseded_at", "customer_id", "customer_email", "ticket_id", "at"),
    "events": ("customer_id", "ticket_id"),
    "suggestions": ("evidence_at", "days", "score", "due_at", "customer_id", "ticket_id", "kind"),
    "health": ("last_contact_at", "customer_id"),
    "care_run": ("outbox_id", "survey", "template", "followup_id", "customer_id"),
    "plan_steps": ("template", "note", "done", "too_old", "targets"),
    "plan_schedule": ("customer_id", "asset_id", "order_id", "kind"),
    "outbox": ("customer_id", "attempts", "customer_name", "due_at", "sent_at", "kind"),
}


def drop_rank(table: str, key: str) -> int:
    """1 for the column that drops first on a narrow terminal, 2 next...; 0 for one that never drops."""
    order = DROPS.get(table, ())
    return order.index(key) + 1 if key in order else 0


def cols(table: str, *keys: str) -> list[Col]:
    """The registry's columns of `table`, in the order asked (all of them when none are named)."""
    registry = TABLES[table]
    return [registry[k] for k in keys] if keys else list(registry.values())
