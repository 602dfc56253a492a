"""Billing runs as batches: ``preview(run_date)`` → look → ``confirm(batch_id)`` or ``discard``.

A preview makes DRAFT invoices (no numbers, nothing in the ledger, no outbox rows) for every
recurring invoice and contract cycle due on or before ``run_date`` — which may be in the future
(seed 002: April's batch previewed on 25 March for 1 April). Confirming finalises exactly the
invoices the preview showed, in one transaction. Work is done in chunks so memory stays flat.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Iterator

from sqlalchemy import delete, select, update
from sqlmodel import Session

from hub.app import HubContext
from hub.bulk_gc import bulk_allocations
from hub.billing.counters import Counter
from hub.billing.drafts import Draft, DueInvoice, build_draft, count_lines, snapshot_lines
from hub.billing.finalise import DraftRef, finalise_invoices
from hub.billing.loading import CATCH_UP, due_for_cycles, due_for_schedules
from hub.billing.store import describe_skipped, store_drafts
from hub.billing.usage_gaps import usage_gap_notes
from hub.core.lines import LineKind
from hub.db.engine import session_scope
from hub.db.models import (
    BatchStatus, BillingBatch, BillingContract, BillingCycle, FutureItem, Invoice, InvoiceLine,
    Organisation, RecurringInvoice, TicketCharge,
)
from hub.errors import NotFound, ValidationFailed

__all__ = ["BatchSummary", "preview", "confirm", "discard", "build_drafts", "CHUNK"]

#: Schedules (and invoices) handled per transaction chunk.
CHUNK = 500


@dataclass
class BatchSummary:
    """What a run did."""

    batch_id: int
    run_date: dt.date
    status: str
    invoices: int
    notes: list[str] = field(default_factory=list)


def build_drafts(dues: list[DueInvoice], counter: Counter, now: dt.datetime,
                 tax_rounding: str = "line") -> list[Draft]:
    """Build drafts in order; a caught-up period compares with the draft before it. Tax is
    rounded as ``tax_rounding`` (``billing.tax_rounding``) says."""
    drafts = []
    # The chunk's counter lines are counted together (one hub_count_many call per connection),
    # and the stored assets, contacts and usage are read once per chunk, not once per line.
    with counter.prefetch({due.organisation_id for due in dues}):
        counts = count_lines(dues, counter)
    for due, counted in zip(dues, counts):
        if due.previous is CATCH_UP:
            due.previous = snapshot_lines(SimpleNamespace(**line) for line in drafts[-1].lines)
        drafts.append(build_draft(due, counted, now, tax_rounding))
    return drafts


def _due_schedules(session: Session, run_date: dt.date, after: int) -> list:
    # Plain rows, not ORM objects: read-only here, and a run reads every schedule.
    t, o = RecurringInvoice.__table__, Organisation.__table__
    return session.execute(select(t).join(o, o.c.id == t.c.organisation_id).where(
        t.c.active, o.c.active, t.c.next_run_date <= run_date, t.c.id > after)
        .order_by(t.c.id).limit(CHUNK)).all()


def _due_cycles(session: Session, run_date: dt.date, after: int) -> list[BillingCycle]:
    return list(session.exec(select(BillingCycle).join(BillingContract).where(
        BillingContract.active, BillingCycle.start <= run_date,
        BillingCycle.invoice_id.is_(None), BillingCycle.id > after)
        .order_by(BillingCycle.id).limit(CHUNK)).scalars())


def preview(ctx: HubContext, run_date: dt.date) -> BatchSummary:
    """Make a preview batch for ``run_date`` (see module docstring)."""
    now = ctx.clock()
    with session_scope(ctx.engine) as session:
        batch = BillingBatch(run_date=run_date, created_at=now)
        session.add(batch)
        session.flush()
        batch_id = batch.id
    try:
        with bulk_allocations():
            made, notes = _fill(ctx, batch_id, run_date, now)
    except BaseException:
        # Nothing half-made stays behind: the partial batch's drafts go, reservations return.
        discard(ctx, batch_id)
        raise
    with session_scope(ctx.engine) as session:
        batch = session.get(BillingBatch, batch_id)
        batch.invoice_count, batch.notes = made, notes
    return BatchSummary(batch_id, run_date, BatchStatus.preview.value, made, notes)


def _fill(ctx: HubContext, batch_id: int, run_date: dt.date, now: dt.datetime
          ) -> tuple[int, list[str]]:
    """Draft every due schedule and contract cycle into the batch, a chunk at a time."""
    counter = Counter(ctx.plugins.pm, ctx.connections(), ctx.engine)
    due_days = ctx.settings.company.payment_due_days
    made, notes = 0, []
    usage_periods: set[tuple[dt.date, dt.date]] = set()
    for loader, fetch in ((lambda s, rows: due_for_schedules(s, rows, run_date, due_days),
                           _due_schedules),
                          (lambda s, rows: due_for_cycles(s, rows, None, due_days),
                           _due_cycles)):
        after = 0
        while True:
            # Three steps per chunk: read, count, write. No transaction is open while the
            # counter hooks run: a counter may read the database itself (the built-in stored
            # counter does), which on SQLite would wait forever behind our own write lock.
            with session_scope(ctx.engine) as session:
                rows = fetch(session, run_date, after)
                if not rows:
                    break
                after = rows[-1].id
                dues = loader(session, rows)
            drafts = build_drafts(dues, counter, now, ctx.settings.billing.tax_rounding)
            usage_periods.update(_usage_periods(dues))
            with session_scope(ctx.engine) as session:
                # Whatever another run wrote meanwhile is skipped by the unique key.
                ids, skipped = store_drafts(session, batch_id, drafts)
            made += len(ids)
            notes += describe_skipped(skipped)
    if usage_periods:
        notes += usage_gap_notes(ctx.engine, ctx.connections("usage"), usage_periods)
    return made, notes


def _usage_periods(dues: list[DueInvoice]) -> Iterator[tuple[dt.date, dt.date]]:
    """The periods the dues' vendor-usage lines count."""
    for due in dues:
        if any(line.line_type == LineKind.vendor_usage for line in due.lines):
            yield due.segments[0].covered.start, due.segments[-1].covered.end


def _chunks(session: Session, batch_id: int) -> Iterator[list[DraftRef]]:
    it = Invoice.__table__
    columns = [it.c[name] for name in DraftRef.COLUMNS]
    after = 0
    while True:
        invoices = [DraftRef(*row) for row in session.execute(select(*columns).where(
            it.c.batch_id == batch_id, it.c.status == "draft", it.c.id > after)
            .order_by(it.c.id).limit(CHUNK))]
        if not invoices:
            return
        after = invoices[-1].id
        yield invoices


def _claim(session: Session, batch_id: int, status: BatchStatus, now: dt.datetime) -> None:
    """Move a preview batch to ``status``; exactly one caller can (a second confirm fails
    cleanly instead of finalising twice)."""
    stamp = {"confirmed_at": now} if status is BatchStatus.confirmed else {"discarded_at": now}
    bt = BillingBatch.__table__
    claimed = session.execute(update(bt).where(bt.c.id == batch_id,
                                               bt.c.status == BatchStatus.preview.value)
                              .values(status=status.value, **stamp)).rowcount
    if claimed:
        return
    batch = session.get(BillingBatch, batch_id)
    if batch is None:
        raise NotFound(f"billing batch {batch_id} does not exist",
                       hint="list batches with `hub bill list`")
    raise ValidationFailed(f"billing batch {batch_id} is already {batch.status.value}",
                           hint="run `hub bill preview --date DATE` for a new batch")


def confirm(ctx: HubContext, batch_id: int) -> BatchSummary:
    """Finalise every draft of a preview batch in one transaction."""
    now = ctx.clock()
    count = 0
    with bulk_allocations(), session_scope(ctx.engine) as session:
        _claim(session, batch_id, BatchStatus.confirmed, now)
        for invoices in _chunks(session, batch_id):
            finalise_invoices(session, ctx, invoices)
            count += len(invoices)
            session.flush()
            session.expunge_all()
        batch = session.get(BillingBatch, batch_id)
        return BatchSummary(batch_id, batch.run_date, batch.status.value, count,
                            list(batch.notes or []))


def discard(ctx: HubContext, batch_id: int) -> BatchSummary:
    """Throw a preview away: its drafts are deleted and what they reserved is released."""
    with session_scope(ctx.engine) as session:
        _claim(session, batch_id, BatchStatus.discarded, ctx.clock())
        ids = select(Invoice.id).where(Invoice.batch_id == batch_id, Invoice.status == "draft")
        lines = select(InvoiceLine.id).where(InvoiceLine.invoice_id.in_(ids.scalar_subquery()))
        session.execute(update(TicketCharge.__table__).where(
            TicketCharge.__table__.c.invoice_line_id.in_(lines.scalar_subquery()))
            .values(invoice_line_id=None))
        session.execute(update(FutureItem.__table__).where(
            FutureItem.__table__.c.invoice_id.in_(ids.scalar_subquery()))
            .values(invoice_id=None, taken_amount=None))
        session.execute(delete(InvoiceLine.__table__).where(
            InvoiceLine.__table__.c.invoice_id.in_(ids.scalar_subquery())))
        session.execute(delete(Invoice.__table__).where(
            Invoice.__table__.c.batch_id == batch_id, Invoice.__table__.c.status == "draft"))
        batch = session.get(BillingBatch, batch_id)
        return BatchSummary(batch_id, batch.run_date, batch.status.value, 0, [])
