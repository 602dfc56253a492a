"""Finalising invoices: numbers, status, charges invoiced, future items used, schedules
advanced, ledger debit and outbox rows — all in the caller's transaction.

Used by batch confirmation, one-time invoices and contract invoicing alike, a chunk of invoices
at a time. The ledger's part is :func:`hub.ledger.post_invoice` (owned by the ledger); it is
called when that function exists, from :func:`_ledger_poster` — the single call site.
"""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.util
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable, Sequence

from sqlalchemy import Date, Integer, String, bindparam, select, update
from sqlmodel import Session

from hub.db.sql import among, update_rows
from hub.host.context import HubContext
from hub.billing._sql import insert_ignoring
from hub.billing.numbers import take_numbers
from hub.db.models import (
    BillingCycle, FutureItem, Invoice, InvoiceGroup, InvoiceKind, InvoiceLine, InvoiceStatus,
    LaborStatus, OutboxEntry, RecurringInvoice, TicketCharge,
)
from hub.errors import ValidationFailed

__all__ = ["finalise_invoices", "ledger_poster", "DraftRef", "HUB_SELF_CONNECTION"]

#: Outbox connection name for effects the hub performs itself (sending documents).
HUB_SELF_CONNECTION = "hub"


def ledger_poster() -> Callable[[Session, Sequence[Invoice | int]], Any] | None:
    """How the ledger writes the debit of finalised invoices (ORM rows or ids of stored
    invoices): ``hub.ledger.post_invoices`` (bulk) if the ledger offers it, else
    ``hub.ledger.post_invoice`` once per invoice, else ``None`` (no ledger installed)."""
    if importlib.util.find_spec("hub.ledger") is None:
        return None
    ledger = importlib.import_module("hub.ledger")
    bulk = getattr(ledger, "post_invoices", None)
    if bulk is not None:
        # Finalising uses none of the transactions: they are not read back.
        return lambda session, invoices: bulk(session, invoices, returning=False)
    single = getattr(ledger, "post_invoice", None)
    if single is None:
        return None
    return lambda session, invoices: [
        single(session, session.get(Invoice, i) if isinstance(i, int) else i) for i in invoices]


@dataclass
class DraftRef:
    """The columns finalising needs, read without the ORM (a billing run confirms thousands)."""

    id: int
    kind: str
    status: str
    number: str | None
    issue_date: dt.date
    period_end: dt.date | None
    total: Decimal
    auto_bill: bool
    extra_fields: dict
    replaces_invoice_id: int | None

    COLUMNS = ("id", "kind", "status", "number", "issue_date", "period_end", "total",
               "auto_bill", "extra_fields", "replaces_invoice_id")


def finalise_invoices(session: Session, ctx: HubContext,
                      invoices: Sequence[Invoice | DraftRef], *,
                      run_post_tasks: bool = True, post_to_ledger: bool = True) -> None:
    """Finalise draft ``invoices``: ORM rows in ``session``, or :class:`DraftRef` s (then the
    rows are updated with one statement per chunk).

    ``run_post_tasks``: write the outbox rows for the post-invoicing tasks each invoice asks
    for (``extra_fields["post_tasks"]``; one-time invoices: sync, plus charge when auto-bill).
    """
    if not invoices:
        return
    for invoice in invoices:
        if invoice.status != InvoiceStatus.draft:
            raise ValidationFailed(f"invoice {invoice.number or invoice.id} is already final",
                                   hint="finalise only draft invoices")
        if invoice.kind == InvoiceKind.proforma:
            raise ValidationFailed(f"invoice {invoice.id} is a proforma and never final",
                                   hint="convert it: `hub invoice convert-proforma ID`")
    now = ctx.clock()
    company = ctx.settings.company
    by_date: dict[dt.date, list[Invoice]] = defaultdict(list)
    for invoice in sorted(invoices, key=lambda i: i.id):
        by_date[invoice.issue_date].append(invoice)
    for issue_date, group in sorted(by_date.items()):
        numbers = take_numbers(session, company.invoice_number_format, issue_date=issue_date,
                               partner_id=company.partner_id, count=len(group))
        for invoice, number in zip(group, numbers):
            invoice.number = number
            invoice.status = InvoiceStatus.unpaid
            invoice.finalised_at = now
    refs = [i for i in invoices if isinstance(i, DraftRef)]
    if refs:
        update_rows(session, Invoice.__table__, "id",
                    [{"id": r.id, "number": r.number} for r in refs],
                    {"id": Integer(), "number": String()},
                    status=InvoiceStatus.unpaid.value, finalised_at=now)
    session.flush()
    ids = [i.id for i in invoices]
    _mark_charges_invoiced(session, ids)
    _use_future_items(session, ids, now)
    _advance_schedules(session, invoices)
    _point_cycles(session, invoices)
    if run_post_tasks:
        _write_outbox(session, ctx, invoices, now)
    post = ledger_poster() if post_to_ledger else None
    if post is not None:
        # ORM rows as they are; DraftRefs by id, in id order: the ledger reads the columns it
        # needs as plain rows (no ORM object for each of thousands of invoices).
        rows: list[Invoice | int] = [i for i in invoices if isinstance(i, Invoice)]
        rows += sorted(r.id for r in refs)
        post(session, rows)  # the ledger's single call site (its debit transaction)


def _mark_charges_invoiced(session: Session, ids: list[int]) -> None:
    lines = select(InvoiceLine.id).where(among(InvoiceLine.invoice_id, ids, session.get_bind()),
                                         InvoiceLine.line_type == "ticket_charge")
    ct = TicketCharge.__table__
    session.execute(update(ct).where(ct.c.invoice_line_id.in_(lines.scalar_subquery()))
                    .values(labor_status=LaborStatus.invoiced.value))


def _use_future_items(session: Session, ids: list[int], now: dt.datetime) -> None:
    items = session.exec(select(FutureItem).where(
        among(FutureItem.invoice_id, ids, session.get_bind()))).scalars().all()
    for item in items:
        item.used = True
        taken = item.taken_amount if item.taken_amount is not None else item.amount
        left = item.amount - taken
        if left != Decimal(0):
            # The invoice could not absorb all of this credit (totals never go below zero).
            session.add(FutureItem(organisation_id=item.organisation_id,
                                   description=f"{item.description} (rest)", amount=left,
                                   currency=item.currency, remainder_of_id=item.id,
                                   created_on=now.date(), created_at=now))


def _advance_schedules(session: Session, invoices: Sequence[Invoice]) -> None:
    latest: dict[int, dt.date] = {}
    for invoice in invoices:
        extra = invoice.extra_fields or {}
        schedule_id = extra.get("recurring_id")
        if schedule_id is not None and invoice.period_end is not None:
            end = invoice.period_end
            latest[schedule_id] = max(latest.get(schedule_id, end), end)
        for part in extra.get("combined", ()):  # an invoice group's combined invoice
            end = dt.date.fromisoformat(part["period_end"])
            latest[part["recurring_id"]] = max(latest.get(part["recurring_id"], end), end)
    if not latest:
        return
    next_day = {sid: end + dt.timedelta(days=1) for sid, end in latest.items()}
    update_rows(session, RecurringInvoice.__table__, "id",
                [{"id": sid, "covered_from": day, "next_run_date": day}
                 for sid, day in next_day.items()],
                {"id": Integer(), "covered_from": Date(), "next_run_date": Date()})
    # The master agreement advances its group's date (seed 001). Few schedules are masters:
    # find them with one query instead of one UPDATE per schedule.
    gt = InvoiceGroup.__table__
    masters = set(session.execute(select(gt.c.master_recurring_id).where(
        among(gt.c.master_recurring_id, latest, session.get_bind()))).scalars())
    params = [{"sid": sid, "day": day} for sid, day in next_day.items() if sid in masters]
    if not params:
        return
    session.execute(update(gt).where(gt.c.master_recurring_id == bindparam("sid"),
                                     gt.c.next_date < bindparam("day"))
                    .values(next_date=bindparam("day")), params,
                    execution_options={"synchronize_session": False})


def _point_cycles(session: Session, invoices: Sequence[Invoice]) -> None:
    for invoice in invoices:
        cycle_id = (invoice.extra_fields or {}).get("cycle_id")
        if cycle_id is None:
            continue
        cycle = session.get(BillingCycle, cycle_id)
        if invoice.replaces_invoice_id is not None:
            cycle.replacements += 1
        cycle.invoice_id = invoice.id


def _write_outbox(session: Session, ctx: HubContext, invoices: Sequence[Invoice],
                  now: dt.datetime) -> None:
    accounting = [c.name for c in ctx.connections("accounting")]
    payments = [c.name for c in ctx.connections("payments")]
    rows = []
    for invoice in invoices:
        tasks = (invoice.extra_fields or {}).get("post_tasks")
        if tasks is None:
            tasks = ["sync"] + (["charge"] if invoice.auto_bill else [])
        targets = []
        if "sync" in tasks:
            targets += [("push", name) for name in accounting]
        if "charge" in tasks and invoice.total > 0:
            targets += [("charge", name) for name in payments]
        if "send" in tasks:
            targets.append(("send", HUB_SELF_CONNECTION))
        rows += [{"effect": effect, "document_kind": "invoice", "document_id": invoice.id,
                  "connection": name, "generation": 0, "status": "pending", "attempts": 0,
                  "payload": {}, "available_at": now, "created_at": now}
                 for effect, name in targets]
    if rows:
        session.execute(insert_ignoring(session, OutboxEntry.__table__,
                                        ["effect", "document_kind", "document_id", "connection",
                                         "generation"]), rows)

