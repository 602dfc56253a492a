"""Gathering what is due for a billing run, a chunk of schedules or cycles at a time.

Each chunk is loaded with a handful of queries (organisations, mappings, template lines, the
previous invoice's lines, pending ticket charges, future items), never one query per row, and
nothing is kept between chunks: memory stays flat however many organisations there are.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from decimal import Decimal
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Iterable, Mapping, Sequence

from sqlalchemy import ARRAY, String, Text, and_, any_, bindparam, cast, func, select
from sqlmodel import Session

from hub.db.sql import among, exact_decimal, raw_columns
from hub.billing.drafts import DueInvoice, PendingCharge, TemplateLine, snapshot_lines
from hub.billing.organisations import organisations_with_mappings
from hub.core.lines import FutureItemRef
from hub.core.money import Money
from hub.core.periods import Cadence, Period
from hub.core.prorata import Segment, coverage
from hub.db.models import (
    BillingContract, BillingCycle, FutureItem, Invoice, InvoiceGroup, InvoiceLine, LaborStatus,
    Organisation, Product, RecurringInvoice, RecurringLine, Ticket, TicketCharge,
)

__all__ = ["cadence_of", "due_for_schedules", "due_for_cycles", "due_schedules_after",
           "due_cycles_after", "group_key", "MAX_CATCH_UP",
           "CATCH_UP"]

#: ``DueInvoice.previous`` value meaning "compare with the draft built just before".
CATCH_UP: dict = {"__catch_up__": None}

#: The day after: a timedelta (relativedelta(days=1) gives the same dates, several times slower;
#: a run adds it twice per schedule).
_ONE_DAY = dt.timedelta(days=1)

#: At most this many missed periods are caught up for one schedule in one run.
MAX_CATCH_UP = 36


def cadence_of(schedule: RecurringInvoice | BillingContract) -> Cadence:
    """The schedule's or contract's cadence."""
    anchor = getattr(schedule, "anchor_date", None) or getattr(schedule, "start_date")
    return _cadence(schedule.frequency, schedule.interval, schedule.billing_day, anchor)


@lru_cache(maxsize=4096)
def _cadence(frequency: str, interval: int, billing_day: int, anchor: dt.date) -> Cadence:
    # Cached (a Cadence is immutable): a run asks for every schedule's, and most schedules of an
    # MSP share a handful (monthly on the 1st, from a few anchor months).
    return Cadence(frequency, interval, billing_day, anchor)


def _templates(session: Session, column, ids: Sequence[int]) -> dict[int, list[TemplateLine]]:
    t = RecurringLine.__table__
    # As the driver gives them (raw_columns): the amounts' type processing was two Python calls
    # per value, three values per line and five lines per organisation; they are converted here,
    # each distinct text once (a run's lines share a handful of prices, quantities and rates).
    rows = session.connection().execute(select(*raw_columns(
        column.label("owner"), t.c.id, t.c.line_type, t.c.description, t.c.product_id,
        t.c.quantity, t.c.unit_price, t.c.tax_rate,
        # Cast in SQL: the filter texts repeat and are parsed once each (see _filters), where
        # psycopg would parse every row's JSON.
        cast(t.c.counter_filters, Text).label("filters")))
        .where(among(column, ids, session.connection()), t.c.active).order_by(t.c.position, t.c.id)
    ).all()
    result: dict[int, list[TemplateLine]] = defaultdict(list)
    amounts: dict[Any, Decimal | None] = {}

    def amount(value: Any) -> Decimal | None:
        exact = amounts.get(value)
        if exact is None:
            exact = amounts[value] = exact_decimal(value)
        return exact

    # Unpacked as tuples: attribute access on a Row is slower, and a run reads five per
    # organisation.
    for owner, line_id, line_type, description, product_id, quantity, price, rate, filters \
            in rows:
        result[owner].append(TemplateLine(line_id, line_type, description, product_id,
                                          amount(quantity), amount(price), amount(rate),
                                          _filters(filters)))
    return result


def _among_texts(column, values: Sequence[str], bind):
    """``column IN values`` for text values; ``= ANY(:array)`` on PostgreSQL (one parameter,
    see :func:`hub.db.sql.among`)."""
    values = list(values)
    if bind.dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(String())))
    return column.in_(bindparam(None, values, expanding=True, type_=column.type))


def _filters(raw) -> Mapping[str, Any]:
    """Counter filters as a read-only mapping. Most lines of a run share a handful of filter
    texts, so each text is parsed once (SQLite gives text; psycopg has parsed it already)."""
    if raw is None:
        return MappingProxyType({})
    return _parse_filters(raw) if isinstance(raw, str) else MappingProxyType(dict(raw))


@lru_cache(maxsize=1024)
def _parse_filters(text: str) -> Mapping[str, Any]:
    return MappingProxyType(json.loads(text) or {})


def _gross_products(session: Session, templates: Mapping[int, list[TemplateLine]]
                    ) -> frozenset[int]:
    """The products among ``templates`` whose catalogue price includes tax (one query)."""
    ids = sorted({t.product_id for lines in templates.values() for t in lines
                  if t.product_id is not None})
    if not ids:
        return frozenset()
    pt = Product.__table__
    return frozenset(session.execute(select(pt.c.id).where(
        among(pt.c.id, ids, session.connection()), pt.c.prices_include_tax)).scalars())


def previous_lines(session: Session, schedule_keys: Sequence[str]):
    """``schedule_key -> {line key: snapshot}`` from each key's latest final invoice."""
    latest = (select(Invoice.schedule_key, func.max(Invoice.period_start).label("start"))
              .where(_among_texts(Invoice.schedule_key, schedule_keys, session.connection()),
                     Invoice.status.notin_(["draft", "deleted"]))
              .group_by(Invoice.schedule_key).subquery())
    invoices = session.execute(
        select(Invoice.id, Invoice.schedule_key).join(latest, and_(
            Invoice.schedule_key == latest.c.schedule_key,
            Invoice.period_start == latest.c.start))
        .where(Invoice.status.notin_(["draft", "deleted"]))).all()
    by_invoice = {row.id: row.schedule_key for row in invoices}
    grouped: dict[str, list] = defaultdict(list)
    if by_invoice:
        for line in session.execute(select(
                InvoiceLine.invoice_id, InvoiceLine.source_line_key, InvoiceLine.line_type,
                InvoiceLine.quantity, InvoiceLine.unit_price, InvoiceLine.provenance,
                InvoiceLine.prorata_note, InvoiceLine.amount, InvoiceLine.description).where(
                    among(InvoiceLine.invoice_id, by_invoice, session.connection()))):
            grouped[by_invoice[line.invoice_id]].append(line)
    return {key: snapshot_lines(grouped[key]) for key in set(by_invoice.values())}


def _pending_charges(session: Session, schedules: Sequence[RecurringInvoice]):
    wanted = [s for s in schedules if s.add_pending_ticket_charges]
    result: dict[int, list[PendingCharge]] = {}
    if not wanted:
        return result
    rows = session.execute(
        select(TicketCharge, Ticket.number, Ticket.status).join(Ticket)
        .where(TicketCharge.organisation_id.in_({s.organisation_id for s in wanted}),
               TicketCharge.labor_status == LaborStatus.charged, TicketCharge.billable,
               TicketCharge.invoice_line_id.is_(None))).all()
    taken: set[int] = set()
    for schedule in wanted:
        # Statuses compare without case: "resolved" means the PSA's "Resolved".
        statuses = {status.casefold() for status in schedule.ticket_status_filter or ()}
        mine = [r for r in rows if r[0].organisation_id == schedule.organisation_id
                and r[0].id not in taken
                and (not statuses or (r[2] or "").casefold() in statuses)]
        order = schedule.ticket_charge_order
        if order == "by_ticket":
            mine.sort(key=lambda r: (r[1], r[0].worked_at or dt.datetime.min, r[0].id))
        else:
            mine.sort(key=lambda r: (r[0].worked_at is None, r[0].worked_at, r[0].id),
                      reverse=order == "newest_first")
        taken.update(r[0].id for r in mine)
        result[schedule.id] = [PendingCharge(
            r[0].id, f"#{r[1]} {r[0].description}", f"Ticket #{r[1]}: {r[0].description}",
            r[0].product_id, r[0].quantity, r[0].unit_price) for r in mine]
    return result


def _future_items(session: Session, org_ids: Iterable[int]) -> dict[int, list[FutureItemRef]]:
    result: dict[int, list[FutureItemRef]] = defaultdict(list)
    for item in session.exec(select(FutureItem).where(
            among(FutureItem.organisation_id, set(org_ids), session.connection()),
            FutureItem.invoice_id.is_(None),
            FutureItem.used.is_(False)).order_by(FutureItem.id)).scalars():
        result[item.organisation_id].append(
            FutureItemRef(item.id, item.description, Money(item.amount, item.currency)))
    return result


def _due_days(org, schedule_days: int | None, default: int) -> int:
    if schedule_days is not None:
        return schedule_days
    return org.payment_due_days if org.payment_due_days is not None else default


def due_for_schedules(session: Session, schedules: Sequence[RecurringInvoice],
                      run_date: dt.date, default_due_days: int) -> list[DueInvoice]:
    """Every invoice due for ``schedules`` by ``run_date`` (missed periods caught up)."""
    if not schedules:
        return []
    orgs, mappings = organisations_with_mappings(session, (s.organisation_id for s in schedules))
    templates = _templates(session, RecurringLine.recurring_invoice_id, [s.id for s in schedules])
    combining = _combining_groups(session, {s.invoice_group_id for s in schedules
                                            if s.invoice_group_id is not None})
    previous = previous_lines(session, [f"schedule:{s.id}" for s in schedules]
                              + [group_key(g) for g in combining])
    gross = _gross_products(session, templates)
    charges = _pending_charges(session, schedules)
    futures = _future_items(session, orgs)
    owned: dict[int, set[str]] = {}
    result = []
    for schedule in schedules:
        org = orgs[schedule.organisation_id]
        cadence = cadence_of(schedule)
        covered_from, next_run = schedule.covered_from, schedule.next_run_date
        for _ in range(MAX_CATCH_UP):
            if next_run > run_date or (schedule.end_date and covered_from > schedule.end_date):
                break
            period = cadence.period_for(next_run)
            through = min(period.end, schedule.end_date) if schedule.end_date else period.end
            segments = coverage(cadence, covered_from, through)
            key = f"schedule:{schedule.id}"
            grouped = schedule.invoice_group_id in combining
            if grouped and key not in previous:
                # Billed in its group's combined invoice last time: compare with this
                # agreement's lines of that invoice (its template lines, ended ones too).
                shared = previous.get(group_key(schedule.invoice_group_id))
                if shared is not None:
                    mine = owned.setdefault(schedule.id, _owned_keys(session, schedule.id))
                    previous[key] = {k: v for k, v in shared.items() if k in mine}
            result.append(DueInvoice(
                organisation_id=org.id, currency=org.currency,
                prices_include_tax=bool(org.prices_include_tax), gross_products=gross,
                billing_key=key, schedule_key=key, issue_date=next_run,
                due_date=next_run + dt.timedelta(days=_due_days(
                    org, schedule.payment_due_days, default_due_days)),
                segments=segments, lines=templates.get(schedule.id, []),
                external_ids=mappings.get(org.id, {}), auto_bill=schedule.auto_bill,
                charges=charges.pop(schedule.id, []),
                future_items=futures.pop(org.id, []), previous=previous.get(key),
                extra={"recurring_id": schedule.id, "next_run_date": str(period.end + _ONE_DAY),
                       "post_tasks": ["sync"] + (["charge"] if schedule.auto_bill else []),
                       **({"combine_in_group": schedule.invoice_group_id,
                           "agreement": schedule.name} if grouped else {})}))
            # A second period caught up in the same run compares with the draft just built.
            previous[key] = CATCH_UP
            covered_from = next_run = period.end + _ONE_DAY
    return result


def group_key(group_id: int) -> str:
    """The billing key of an invoice group's combined invoices."""
    return f"group:{group_id}"


def _owned_keys(session: Session, schedule_id: int) -> set[str]:
    """The line keys of every template line of a schedule, inactive ones included."""
    t = RecurringLine.__table__
    return {f"line:{i}" for i in session.execute(
        select(t.c.id).where(t.c.recurring_invoice_id == schedule_id)).scalars()}


def _combining_groups(session: Session, ids: set[int]) -> set[int]:
    """Which of these invoice groups combine their agreements into one invoice."""
    if not ids:
        return set()
    gt = InvoiceGroup.__table__
    return set(session.execute(select(gt.c.id).where(gt.c.id.in_(ids), gt.c.combine))
               .scalars())


def due_for_cycles(session: Session, cycles: Sequence[BillingCycle], issue_date: dt.date | None,
                   default_due_days: int, *, replace: dict[int, int] | None = None
                   ) -> list[DueInvoice]:
    """One invoice per cycle. ``replace`` maps cycle id → the invoice being replaced."""
    if not cycles:
        return []
    replace = replace or {}
    contracts = {c.id: c for c in session.exec(select(BillingContract).where(
        BillingContract.id.in_({c.contract_id for c in cycles}))).scalars()}
    orgs, mappings = organisations_with_mappings(
        session, (c.organisation_id for c in contracts.values()))
    templates = _templates(session, RecurringLine.contract_id, list(contracts))
    gross = _gross_products(session, templates)
    previous = previous_lines(session, [f"contract:{c}" for c in contracts])
    futures = _future_items(session, orgs)
    result = []
    for cycle in cycles:
        contract = contracts[cycle.contract_id]
        org = orgs[contract.organisation_id]
        if contract.billing_day == min(contract.start_date.day, 28):
            # Anchored on its start day: each cycle is a whole period, however long its month
            # (the billing day is clamped to 28, so the cadence's period would be wrong).
            period = Period(cycle.start, cycle.end)
        else:
            period = cadence_of(contract).period_for(cycle.start)
        key = f"contract:{contract.id}"
        billing_key = key if cycle.id not in replace else \
            f"{key}:replacement:{cycle.replacements + 1}"
        day = issue_date or cycle.start
        tasks = [t for t, on in (("charge", contract.auto_charge), ("sync", contract.auto_sync),
                                 ("send", contract.auto_send)) if on]
        result.append(DueInvoice(
            organisation_id=org.id, currency=org.currency, billing_key=billing_key,
            prices_include_tax=bool(org.prices_include_tax), gross_products=gross,
            schedule_key=key, issue_date=day,
            due_date=day + dt.timedelta(days=_due_days(org, None, default_due_days)),
            segments=[Segment(Period(cycle.start, cycle.end), period)],
            lines=templates.get(contract.id, []), external_ids=mappings.get(org.id, {}),
            auto_bill=contract.auto_charge, future_items=futures.pop(org.id, []),
            previous=previous.get(key), replaces_invoice_id=replace.get(cycle.id),
            extra={"contract_id": contract.id, "cycle_id": cycle.id,
                   "cycle_number": cycle.number, "post_tasks": tasks}))
    return result


def due_schedules_after(session: Session, run_date: dt.date, after: int, taken: set[int],
                        limit: int) -> tuple[list, int]:
    """The next ``limit`` due schedules after id ``after`` and the last id read. A combining
    invoice group's agreements are drafted in one chunk, whatever their ids: the group's one
    invoice per period is keyed by the group, and a second chunk's merge of the rest would be
    refused as already held. Those due further on join this chunk (and go in ``taken``, so a
    later chunk passes over them)."""
    # Plain rows, not ORM objects: read-only here, and a run reads every schedule.
    t, o = RecurringInvoice.__table__, Organisation.__table__
    due = select(t).join(o, o.c.id == t.c.organisation_id).where(
        t.c.active, o.c.active, t.c.next_run_date <= run_date)
    rows = session.execute(due.where(t.c.id > after).order_by(t.c.id).limit(limit)).all()
    if not rows:
        return [], after
    last = rows[-1].id
    rows = [row for row in rows if row.id not in taken]
    groups = {row.invoice_group_id for row in rows} - {None}
    if groups:
        gt = InvoiceGroup.__table__
        combining = list(session.execute(select(gt.c.id).where(
            among(gt.c.id, groups, session.connection()), gt.c.combine)).scalars())
        if combining:
            further = session.execute(due.where(
                t.c.id > last, among(t.c.invoice_group_id, combining, session.connection()))
                .order_by(t.c.id)).all()
            taken.update(row.id for row in further)
            rows += further
    return rows, last


def due_cycles_after(session: Session, run_date: dt.date, after: int, taken: set[int],
                     limit: int) -> tuple[list[BillingCycle], int]:
    """The next ``limit`` due contract cycles after id ``after`` and the last id read
    (``taken`` is for the same shape as :func:`due_schedules_after`: cycles join no chunk)."""
    o = Organisation.__table__
    cycles = list(session.exec(select(BillingCycle).join(BillingContract)
                               .join(o, o.c.id == BillingContract.organisation_id).where(
        BillingContract.active, o.c.active, BillingCycle.start <= run_date,
        BillingCycle.invoice_id.is_(None), BillingCycle.id > after)
        .order_by(BillingCycle.id).limit(limit)).scalars())
    return cycles, (cycles[-1].id if cycles else after)
