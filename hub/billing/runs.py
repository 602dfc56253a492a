"""Billing runs as batches: ``preview(run_date)`` → look → ``confirm(batch_id)`` or ``discard``.

A preview makes DRAFT invoices (no numbers, nothing in the ledger, no outbox rows) for every
recurring invoice and contract cycle due on or before ``run_date`` — which may be in the future
(seed 002: April's batch previewed on 25 March for 1 April). Confirming finalises exactly the
invoices the preview showed, in one transaction. Work is done in chunks so memory stays flat.
"""

from __future__ import annotations

import datetime as dt
from contextlib import ExitStack
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Iterator

from sqlalchemy import delete, func, select, update
from sqlmodel import Session

from hub import audit
from hub.host.context import HubContext
from hub.host.gc_pacing import bulk_allocations
from hub.billing.batch_lease import try_lease
from hub.billing.batch_order import confirm_in_order, discard_in_order
from hub.billing.combining import combine_group_drafts
from hub.billing.counters import Counter
from hub.billing.drafts import Draft, DueInvoice, build_draft, count_lines, snapshot_lines
from hub.billing.finalise import DraftRef, finalise_invoices
from hub.billing.isolation import LeftOut, build_isolated, describe, each_alone, reason_of
from hub.billing.loading import (
    CATCH_UP, due_cycles_after, due_for_cycles, due_for_schedules, due_schedules_after,
)
from hub.billing.organisations import organisation_rows
from hub.billing.store import describe_skipped, store_drafts
from hub.billing.store_behind import StoreBehind, reading_engine
from hub.billing.usage_gaps import usage_gap_notes
from hub.core.lines import LineKind
from hub.db.engine import session_scope
from hub.db.statistics import refresh_stale
from hub.observe.counters import timed
from hub.db.models import (
    Asset, BatchStatus, BillingBatch, BillingContract, BillingCycle, Contact, FutureItem,
    Invoice, InvoiceGroup, InvoiceLine, Organisation, OrganisationMapping, Product,
    RecurringInvoice, RecurringLine, Ticket, TicketCharge, UsageSnapshot,
)
from hub.errors import EditNotAllowed, NotFound, ValidationFailed
from hub.validation.fields import check_not_far_ahead

__all__ = ["BatchSummary", "preview", "confirm", "discard", "build_drafts", "CHUNK",
           "CONFIRM_CHUNK"]

#: Schedules drafted per chunk of a preview (each chunk's drafts are stored while the next is
#: drafted, see hub.billing.store_behind).
CHUNK = 500
#: Draft invoices finalised per chunk of a confirm. Larger than a preview's: a confirm chunk is
#: a dozen statements (numbers, invoice and schedule updates, the ledger's debits) whose cost is
#: mostly per statement, not per invoice, on PostgreSQL (issue #21).
CONFIRM_CHUNK = 2_000

#: The tables a preview reads; their planner statistics are refreshed first if stale
#: (:mod:`hub.db.statistics`). The invoices it fills are looked up by schedule key as they
#: grow (refreshed as it goes), and again by batch when confirmed (refreshed first).
_READS = [m.__tablename__ for m in (
    Organisation, OrganisationMapping, RecurringInvoice, RecurringLine, BillingContract,
    BillingCycle, Product, Invoice, InvoiceLine, InvoiceGroup, FutureItem, TicketCharge, Ticket,
    Asset, Contact, UsageSnapshot)]
_GROWS = [Invoice.__tablename__]


@dataclass
class BatchSummary:
    """What a run did. ``batch_id`` is None when nothing was due (no batch is stored)."""

    batch_id: int | None
    run_date: dt.date
    status: str
    invoices: int
    notes: list[str] = field(default_factory=list)
    left_out: list[dict] = field(default_factory=list)
    #: the other preview batches whose drafts hold some of what is due (nothing due but this
    #: means it is waiting for approval there, not that nothing is to be billed)
    held_by: list[int] = field(default_factory=list)

    def nothing_due(self) -> str:
        """What to tell the user when no batch was stored (``batch_id`` is None)."""
        if not self.held_by:
            return f"Nothing is due on or before {self.run_date}"
        held = ", ".join(f"#{n}" for n in self.held_by)
        return (f"Nothing new is due on or before {self.run_date}: what is due is already in "
                f"preview batch {held}, waiting to be confirmed or discarded")


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


def _open_batch(ctx: HubContext, run_date: dt.date, now: dt.datetime, leases: ExitStack
                ) -> int:
    """The batch this preview fills, with its lease held in ``leases``: one a crashed preview
    of the same date left unfinished (completed now: its drafts stay, the rest is added), else
    a new one. An unfinished batch of another date whose preview is gone is rolled back whole,
    so its drafts block nobody; one whose preview still runs is left to it
    (:mod:`hub.billing.batch_lease`)."""
    bt = BillingBatch.__table__
    with session_scope(ctx.engine) as session:
        unfinished = session.execute(select(bt.c.id, bt.c.run_date).where(
            bt.c.status == BatchStatus.preview.value, bt.c.filled_at.is_(None))
            .order_by(bt.c.id)).all()
    for row in unfinished:
        lease = try_lease(ctx.engine, ctx.settings.data_dir, row.id)
        if not lease.__enter__():
            lease.__exit__(None, None, None)  # its preview is still running
            continue
        if row.run_date == run_date:
            leases.push(lease.__exit__)
            return row.id
        try:
            discard(ctx, row.id)
        finally:
            lease.__exit__(None, None, None)
    with session_scope(ctx.engine) as session:
        batch = BillingBatch(run_date=run_date, created_at=now)
        session.add(batch)
        session.flush()
        # Leased before the row is committed: no other preview can take it for abandoned.
        leases.enter_context(try_lease(ctx.engine, ctx.settings.data_dir, batch.id))
        return batch.id


@timed("hub_billing_run_seconds", step="preview")
def preview(ctx: HubContext, run_date: dt.date) -> BatchSummary:
    """Make a preview batch for ``run_date`` (see module docstring). Schedules that cannot be
    billed are left out and named (:mod:`hub.billing.isolation`); a run that finds nothing to
    bill and nothing to name stores no batch."""
    check_not_far_ahead(run_date, ctx.today(), "run date")
    now = ctx.clock()
    with ExitStack() as leases:
        batch_id = _open_batch(ctx, run_date, now, leases)
        return _preview_into(ctx, batch_id, run_date, now)


def _preview_into(ctx: HubContext, batch_id: int, run_date: dt.date, now: dt.datetime
                  ) -> BatchSummary:
    try:
        with bulk_allocations():
            notes, left_out, held_by = _fill(ctx, batch_id, run_date, now)
    except BaseException:
        # Nothing half-made stays behind: the partial batch's drafts go, reservations return.
        discard(ctx, batch_id)
        raise
    with session_scope(ctx.engine) as session:
        it = Invoice.__table__
        made = session.execute(select(func.count()).select_from(it).where(
            it.c.batch_id == batch_id, it.c.status == "draft")).scalar()
        if not made and not left_out:
            session.execute(delete(BillingBatch.__table__).where(
                BillingBatch.__table__.c.id == batch_id))
            return BatchSummary(None, run_date, "nothing due", 0, notes, held_by=held_by)
        batch = session.get(BillingBatch, batch_id)
        batch.invoice_count, batch.notes = made, notes + [describe(i) for i in left_out]
        batch.left_out, batch.filled_at = left_out, now
        audit.record(session, "batch.previewed", "batch", batch_id,
                     summary=f"run date {run_date}: {made} draft invoices"
                             + (f", {len(left_out)} left out" if left_out else ""))
        return BatchSummary(batch_id, run_date, BatchStatus.preview.value, made,
                            list(batch.notes), left_out, held_by)


def _fill(ctx: HubContext, batch_id: int, run_date: dt.date, now: dt.datetime
          ) -> tuple[list[str], list[dict], list[int]]:
    """Draft every due schedule and contract cycle into the batch, a chunk at a time; returns
    the notes, what was left out and the other preview batches holding what was due. Each
    chunk is stored while the next one is read, counted and priced
    (:mod:`hub.billing.store_behind`)."""
    reader = reading_engine(ctx.engine)
    counter = Counter(ctx.plugins.pm, ctx.connections(), reader)
    due_days = ctx.settings.company.payment_due_days
    notes: list[str] = []
    left: list[LeftOut] = []
    held_by: set[int] = set()
    usage_periods: set[tuple[dt.date, dt.date]] = set()
    # Planned from current statistics, not those of a database before its last bulk load.
    refresh_stale(ctx.engine, _READS)
    stored = 0

    def collect(outcome: tuple[list[LeftOut], list, list[LeftOut]]) -> None:
        # a chunk's own left-outs (read, counted, priced) and then its store's, chunk by chunk
        nonlocal stored
        before, skipped, unstored = outcome
        left.extend(before + unstored)
        others = [s for s in skipped if s.preview_batch != batch_id]
        notes.extend(describe_skipped(others))
        held_by.update(s.preview_batch for s in others if s.preview_batch is not None)
        stored += 1
        if stored & (stored - 1) == 0:
            # After chunks 1, 2, 4, 8...: the drafts grow the invoice tables, and a
            # previous-invoice look-up planned for the empty table scans all of it.
            refresh_stale(ctx.engine, _GROWS)

    def store(chunk: tuple[list[LeftOut], list[Draft], dict[int, str]]):
        before, drafts, names = chunk
        skipped, unstored = _store(ctx, batch_id, drafts, names)
        return before, skipped, unstored

    with StoreBehind(ctx.engine, store, collect) as behind:
        for loader, fetch, owner in ((lambda s, rows: due_for_schedules(s, rows, run_date,
                                                                        due_days),
                                      due_schedules_after, _schedule_owner),
                                     (lambda s, rows: due_for_cycles(s, rows, None, due_days),
                                      due_cycles_after, _cycle_owner)):
            after, taken = 0, set()
            while True:
                # Three steps per chunk: read, count, write. No transaction is open while the
                # counter hooks run: a counter may read the database itself (the built-in
                # stored counter does), which on SQLite would wait behind a write lock.
                chunk_left: list[LeftOut] = []
                with session_scope(reader) as session:
                    rows, last = fetch(session, run_date, after, taken, CHUNK)
                    if last == after:
                        break
                    after = last
                    if not rows:
                        continue  # each had joined an earlier chunk with its invoice group
                    names = _names(session, rows, owner)
                    behind.before_reading(names)

                    def load(chunk, session=session):
                        return loader(session, list(chunk))

                    def unloadable(row, exc, session=session, names=names,
                                   chunk_left=chunk_left):
                        org_id, key = owner(session, row)
                        chunk_left.append(LeftOut(org_id, key, reason_of(exc),
                                                  names.get(org_id, "")))

                    dues = each_alone(rows, load, unloadable)
                drafts, left_now = build_isolated(dues, counter, now, names,
                                                 ctx.settings.billing.tax_rounding)
                chunk_left += left_now
                usage_periods.update(_usage_periods(dues))
                if drafts:
                    with session_scope(reader) as session:
                        drafts = combine_group_drafts(session, drafts)  # groups combine (#19)
                behind.submit((chunk_left, drafts, names), names)
    if usage_periods:
        notes += usage_gap_notes(ctx.engine, ctx.connections("usage"), usage_periods)
    return notes, [item.as_dict() for item in left], sorted(held_by)


def _store(ctx: HubContext, batch_id: int, drafts: list[Draft], names: dict[int, str]
           ) -> tuple[list, list[LeftOut]]:
    """Store the chunk's drafts in one transaction; if that fails, each on its own. Returns
    the keys another batch or invoice already held and the drafts left out."""
    skipped: list = []
    left: list[LeftOut] = []

    def store(chunk):
        with session_scope(ctx.engine) as session:
            # Whatever another run wrote meanwhile is skipped by the unique key.
            _, held = store_drafts(session, batch_id, list(chunk))
        skipped.extend(held)
        return []

    def unstorable(draft, exc):
        org_id = draft.invoice["organisation_id"]
        left.append(LeftOut(org_id, draft.invoice["billing_key"], reason_of(exc),
                            names.get(org_id, "")))

    if drafts:
        each_alone(drafts, store, unstorable)
    return skipped, left


def _schedule_owner(session: Session, row) -> tuple[int, str]:
    return row.organisation_id, f"schedule:{row.id}"


def _cycle_owner(session: Session, row) -> tuple[int | None, str]:
    contract = session.get(BillingContract, row.contract_id)
    return (contract.organisation_id if contract else None), f"contract:{row.contract_id}"


def _names(session: Session, rows, owner) -> dict[int, str]:
    ids = {owner(session, row)[0] for row in rows} - {None}
    return {i: row.name for i, row in organisation_rows(session, ids).items()}


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
            .order_by(it.c.id).limit(CONFIRM_CHUNK))]
        if not invoices:
            return
        after = invoices[-1].id
        yield invoices


def _claim(session: Session, batch_id: int, status: BatchStatus, now: dt.datetime) -> None:
    """Move a preview batch to ``status``; exactly one caller can (a second confirm fails
    cleanly instead of finalising twice)."""
    stamp = {"confirmed_at": now} if status is BatchStatus.confirmed else {"discarded_at": now}
    bt = BillingBatch.__table__
    # Only a finished preview can be confirmed; an interrupted one is completed first.
    finished = (bt.c.filled_at.isnot(None),) if status is BatchStatus.confirmed else ()
    claimed = session.execute(update(bt).where(bt.c.id == batch_id,
                                               bt.c.status == BatchStatus.preview.value,
                                               *finished)
                              .values(status=status.value, **stamp)).rowcount
    if claimed:
        return
    batch = session.get(BillingBatch, batch_id)
    if batch is None:
        raise NotFound(f"billing batch {batch_id} does not exist",
                       hint="list batches with `hub bill list`")
    if batch.status is BatchStatus.preview:
        raise ValidationFailed(f"billing batch {batch_id} was interrupted before it was filled",
                               hint=f"run `hub bill preview --date {batch.run_date}` to complete "
                                    f"it, then confirm")
    # the batch's status forbids it: a conflict (409 in the API), not bad input
    raise EditNotAllowed(f"billing batch {batch_id} is already {batch.status.value}",
                         hint="run `hub bill preview --date DATE` for a new batch")


@timed("hub_billing_run_seconds", step="confirm")
def confirm(ctx: HubContext, batch_id: int) -> BatchSummary:
    """Finalise every draft of a preview batch in one transaction."""
    now = ctx.clock()
    count = 0
    refresh_stale(ctx.engine, _GROWS)  # the preview went on filling it after it last looked
    with bulk_allocations(), session_scope(ctx.engine) as session:
        confirm_in_order(session, batch_id)
        _claim(session, batch_id, BatchStatus.confirmed, now)
        for invoices in _chunks(session, batch_id):
            finalise_invoices(session, ctx, invoices)
            count += len(invoices)
            session.flush()
            session.expunge_all()
        batch = session.get(BillingBatch, batch_id)
        audit.record(session, "batch.confirmed", "batch", batch_id,
                     summary=f"run date {batch.run_date}: {count} invoices finalised")
        return BatchSummary(batch_id, batch.run_date, batch.status.value, count,
                            list(batch.notes or []))


def discard(ctx: HubContext, batch_id: int) -> BatchSummary:
    """Throw a preview away: its drafts are deleted and what they reserved is released."""
    with session_scope(ctx.engine) as session:
        discard_in_order(session, batch_id)
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
        audit.record(session, "batch.discarded", "batch", batch_id,
                     summary=f"run date {batch.run_date}")
        return BatchSummary(batch_id, batch.run_date, batch.status.value, 0, [])
