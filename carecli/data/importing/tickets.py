"""Importing tickets: each record is a ticket's whole history, stored as the commands would have
stored it (records.tickets.history), with its events, its first message and its CSAT/CES."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Callable, NamedTuple

from carecli.core.errors import InvalidInput
from carecli.data.importing.reading import SourceRow
from carecli.data.importing.values import RowError, tag_list
from carecli.records import activity, surveys
from carecli.records import tickets as ticket_records
from carecli.text.clock import latest_past

if TYPE_CHECKING:
    from carecli.data.importing.importer import Importer

SCORE_RANGES = {kind: surveys.RANGES[kind] for kind in surveys.PER_TICKET}
RESPONSE_AFTER_CLOSE = "first response stamped after the close (imported as it is)"
BEFORE_OPENED = "a time before the ticket was opened (imported as it is; durations negative)"


class ParsedTicket(NamedTuple):
    """One record read and checked; its customer is matched when its batch is written."""

    external_id: str | None
    customer_email: str | None
    customer_name: str | None
    history: ticket_records.TicketHistory
    csat: int | None
    ces: int | None
    message: str | None
    warnings: tuple[str, ...]  # counted only if the row lands (not for duplicates or rejects)


_new = tuple.__new__


def to_wire(parsed: ParsedTicket) -> tuple:
    """A ParsedTicket as plain tuples, for the pipe from the worker: pickle writes and reads plain
    tuples about ten times faster than NamedTuples (0.07 s against 0.6 s per 100k), and a 100k-row
    import was 20 % slower sending the NamedTuples themselves."""
    return (*parsed[:3], tuple(parsed.history), *parsed[4:])


def from_wire(data: tuple) -> ParsedTicket:
    """`to_wire` undone, without a Python-level __new__ per row."""
    return _new(ParsedTicket, (*data[:3], _new(ticket_records.TicketHistory, data[3]), *data[4:]))


class TicketRows:
    required: tuple[tuple[str, ...], ...] = (("subject",), ("created_at",), ("customer_email", "customer_name"))
    group: Callable[[list[str]], str | None] | None = None  # one record each

    def __init__(self, importer: Importer):
        self.importer = importer

    def parser(self) -> Callable[[list[str]], ParsedTicket]:
        """One function per import that turns a record into a ParsedTicket: every getter is looked
        up once here, so the per-row work is only the calls (a million rows are read this way)."""
        v = self.importer.v
        text, time, integer, minutes = v.getter, v.time_getter, v.integer_getter, v.minutes_getter
        external_id_of, email_of, name_of = text("external_id"), text("customer_email"), text("customer_name")
        subject_of, status_of, tags_of = text("subject"), text("status"), text("tags")
        resolution_of, message_of = text("resolution"), text("message")
        created_of, first_response_of, first_closed_of = (
            time("created_at"),
            time("first_response_at"),
            time("first_closed_at"),
        )
        closed_of, updated_of = time("closed_at"), time("updated_at")
        first_response_minutes_of, resolution_minutes_of = (
            minutes("first_response_minutes"),
            minutes("resolution_minutes"),
        )
        replies_of, reopens_of = integer("replies", 0), integer("reopens", 0)
        csat_of, ces_of = integer("csat", *SCORE_RANGES["csat"]), integer("ces", *SCORE_RANGES["ces"])
        channel_of = v.choice_getter("channel", "channels", "default_channel")
        category_of = v.choice_getter("category", "categories", "default_category")
        priority_of = v.choice_getter("priority", "priorities", "default_priority")
        closed_field = "closed_at" if v.has("closed_at") else "status"
        email = self.importer.email
        history = ticket_records.history
        latest = latest_past(self.importer.now)  # in_the_future's rule, computed once per import

        def happened(name: str, moment: tuple[datetime, str] | None) -> tuple[datetime, str] | None:
            if moment is not None and moment[0] > latest:
                raise v.error(name, "a time in the future; what a ticket records has already happened")
            return moment

        def later(start: tuple[datetime, str], span: timedelta | None) -> tuple[datetime, str] | None:
            if span is None:
                return None
            moment = start[0] + span
            return moment, moment.isoformat()

        def parse(record: list[str]) -> ParsedTicket:
            subject = subject_of(record)
            subject = " ".join(subject.split()) if subject else ""
            if not subject:
                raise v.error("subject", "a ticket needs a subject")
            created = created_of(record)
            if created is None:
                raise v.error("created_at", "a ticket needs the time it was opened")
            happened("created_at", created)
            first_response = happened(
                "first_response_at", first_response_of(record) or later(created, first_response_minutes_of(record))
            )
            closed = happened(closed_field, closed_of(record) or later(created, resolution_minutes_of(record)))
            status = status_of(record)
            status = status.lower() if status else ("closed" if closed else "open")
            if status not in ticket_records.STATUSES:
                raise v.error("status", "unknown status; map it to open, pending or closed in [values.status]")
            if status == "closed" and closed is None:
                raise v.error(closed_field, "a closed ticket needs the time it was closed")
            created_at = created[0]
            warnings: tuple[str, ...] = ()
            if first_response is not None and closed is not None and first_response[0] > closed[0]:
                warnings = (RESPONSE_AFTER_CLOSE,)
            if (first_response is not None and first_response[0] < created_at) or (
                closed is not None and closed[0] < created_at
            ):
                warnings += (BEFORE_OPENED,)
            tags = tags_of(record)
            if tags:
                try:
                    tags = tag_list(tags)
                except InvalidInput as exc:
                    raise v.error("tags", exc.message) from None
            else:
                tags = ""
            return ParsedTicket(
                external_id_of(record),
                email(email_of(record), "customer_email"),
                name_of(record),
                history(
                    subject=subject,
                    channel=channel_of(record),
                    category=category_of(record),
                    priority=priority_of(record),
                    status=status,
                    tags=tags,
                    resolution=resolution_of(record),
                    created=created,
                    first_response=first_response,
                    first_closed=happened("first_closed_at", first_closed_of(record)),
                    closed=closed,
                    updated=happened("updated_at", updated_of(record)),
                    reopens=reopens_of(record) or 0,
                    replies=replies_of(record),
                ),
                csat_of(record),
                ces_of(record),
                message_of(record),
                warnings,
            )

        return parse

    def flush(self, batch: list[tuple[SourceRow, ParsedTicket]]) -> None:
        importer = self.importer
        conn, report = importer.conn, importer.report
        existing = importer.existing("tickets", [parsed.external_id for _, parsed in batch])
        kept: list[tuple[ParsedTicket, int | None]] = []  # (parsed, ticket to update or None for a new one)
        in_batch: set[str] = set()
        for row, parsed in batch:
            external_id = parsed.external_id
            if external_id is not None and (external_id in existing or external_id in in_batch):
                try:
                    importer.duplicate(row, external_id, "tickets")
                except RowError as exc:
                    importer.reject(row, exc)
                    continue
                if importer.on_duplicate == "update" and external_id in existing:
                    report.skipped -= 1
                    report.updated += 1
                    kept.append((parsed, existing[external_id]))
                continue
            if external_id is not None:
                in_batch.add(external_id)
            kept.append((parsed, None))
        warn = report.warn
        for parsed, _ in kept:
            for text in parsed.warnings:
                warn(text)
        customer_ids = importer.customer_ids(
            [(parsed.customer_email, parsed.customer_name, parsed.history.created_at) for parsed, _ in kept]
        )
        first_id = next_id = ticket_records.next_ticket_id(conn)
        tickets, scores, messages = [], [], []
        for (parsed, update_id), customer_id in zip(kept, customer_ids):
            known = parsed.history
            if update_id is not None:
                ticket_records.update_known(conn, update_id, customer_id, known, at=importer.now)
                for kind, score in (("csat", parsed.csat), ("ces", parsed.ces)):
                    if score is not None:
                        surveys.set_ticket_score(
                            conn,
                            kind,
                            customer_id=customer_id,
                            ticket_id=update_id,
                            score=score,
                            at=known.closed_at or known.updated_at,
                        )
                continue
            ticket_id = next_id
            next_id += 1
            tickets.append((ticket_id, parsed.external_id, customer_id, *known))
            answered_at = known.closed_at or known.updated_at
            if parsed.csat is not None:
                scores.append(("csat", customer_id, ticket_id, parsed.csat, None, answered_at))
            if parsed.ces is not None:
                scores.append(("ces", customer_id, ticket_id, parsed.ces, None, answered_at))
            if parsed.message:
                messages.append((customer_id, ticket_id, None, "in", known.channel, parsed.message, known.created_at))
        if tickets:
            ticket_records.insert_known(conn, tickets)
            ticket_records.add_known_events(conn, first_id)
            surveys.add_many(conn, scores)
            activity.add_interactions(conn, messages)
            report.created += len(tickets)
