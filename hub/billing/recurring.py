"""Recurring invoices (schedules) and invoice groups: creating them, their lines, joining a
group (seed 001) and choosing where the first invoice starts (seed 002).

``first_run`` decides the first invoice: ``"start"`` bills on the service start date (Splynx
example A: 15–31 March, then 1–30 April); ``"next"`` (default) waits for the next billing day
and covers from the service start (example B: 15 March–30 April on 1 April).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from sqlmodel import Session, select

from hub.core.groups import GroupRef, choose_group, plan_join
from hub.core.money import to_decimal
from hub.core.periods import Cadence, Frequency
from hub.billing.catalogue import (
    billable_organisation, catalogue_price, get_or_404, product_by_code,
)
from hub.billing.loading import group_key
from hub.db.models import (
    BatchStatus, BillingBatch, BillingContract, Invoice, InvoiceGroup, Organisation,
    RecurringInvoice, RecurringLine,
)
from hub.errors import EditNotAllowed, ValidationFailed
from hub.validation import parse
from hub.validation.fields import check_not_far_ahead, check_not_far_back
from hub.validation.records import GroupInput, LineInput, RecurringInput

__all__ = ["create_recurring", "add_recurring_line", "create_group", "join_group",
           "set_master", "set_combine", "group_ref", "check_agreement_date", "LINE_TYPES"]

LINE_TYPES = ("standard", "asset_counter", "user_counter", "vendor_usage")
ORDERS = ("oldest_first", "newest_first", "by_ticket")


def group_ref(group: InvoiceGroup) -> GroupRef:
    """The pure view of a group row."""
    return GroupRef(group.id, group.description,
                    Cadence(group.frequency, group.interval, group.align_day, group.next_date),
                    group.next_date)


def check_agreement_date(day: dt.date, what: str, today: dt.date | None = None, *,
                         ahead: bool = True) -> dt.date:
    """``day``, a date a person typed for an agreement (a recurring invoice's service start or
    end, a contract's start), unless it is before :data:`~hub.validation.fields.EARLIEST_DAY`
    or, with ``ahead``, more than a year after ``today`` (by default the machine's date: the
    callers have no hub clock, and a day's difference is nothing against a year); else
    :class:`ValidationFailed` naming the earliest or latest date taken, as for documents."""
    # Checked every time, unlike a processor's record: an agreement is always typed by
    # someone, and a start in year 1 makes the next billing run bill two thousand years.
    today = today or dt.date.today()
    check_not_far_back(day, today, what)
    return check_not_far_ahead(day, today, what) if ahead else day


def create_recurring(session: Session, organisation_id: int, service_start: dt.date, *,
                     name: str = "Recurring invoice", frequency: str = "monthly",
                     interval: int = 1, billing_day: int | None = None,
                     first_run: Literal["start", "next"] = "next", auto_bill: bool | None = None,
                     add_pending_ticket_charges: bool = False,
                     ticket_status_filter: list[str] | None = None,
                     ticket_charge_order: str = "oldest_first",
                     group_id: int | None = None, payment_due_days: int | None = None,
                     end_date: dt.date | None = None,
                     today: dt.date | None = None) -> RecurringInvoice:
    """A new recurring invoice. When the account requires an invoice group the new agreement
    joins one (chosen automatically when exactly one exists). A service start before 2000 or
    more than a year after ``today``, or an end before 2000, is refused as a typo
    (:func:`check_agreement_date`); an end years ahead is an agreement's ordinary term."""
    given = parse(RecurringInput, organisation_id=organisation_id, service_start=service_start,
                  name=name, frequency=frequency, interval=interval, billing_day=billing_day,
                  first_run=first_run, auto_bill=auto_bill,
                  add_pending_ticket_charges=add_pending_ticket_charges,
                  ticket_status_filter=list(ticket_status_filter or []),
                  ticket_charge_order=ticket_charge_order, group_id=group_id,
                  payment_due_days=payment_due_days, end_date=end_date)
    check_agreement_date(given.service_start, "service start", today)
    if given.end_date is not None:
        check_agreement_date(given.end_date, "end date", today, ahead=False)
    org = billable_organisation(session, given.organisation_id)
    frequency, interval, name = given.frequency, given.interval, given.name
    ticket_status_filter = given.ticket_status_filter
    try:
        cadence = Cadence(Frequency(frequency), interval, billing_day or org.billing_day,
                          service_start)
    except ValueError as exc:
        raise ValidationFailed(str(exc), hint="frequencies: " + ", ".join(Frequency)) from None
    try:  # a start near 9999 has no next period (and no period end) to bill
        next_run = service_start if first_run == "start" else \
            cadence.start_on_or_after(service_start)
        cadence.next_start_after(next_run)  # where the billing run moves next_run_date
    except (OverflowError, ValueError):
        raise ValidationFailed(f"service start {service_start} leaves no room for its billing "
                               f"periods (dates end at {dt.date.max})",
                               hint="give an earlier start") from None
    schedule = RecurringInvoice(
        organisation_id=org.id, name=name, frequency=cadence.frequency.value,
        interval=interval, billing_day=cadence.billing_day, anchor_date=service_start,
        service_start=service_start, covered_from=service_start, next_run_date=next_run,
        end_date=end_date, auto_bill=org.auto_bill if auto_bill is None else auto_bill,
        add_pending_ticket_charges=add_pending_ticket_charges,
        ticket_status_filter=list(ticket_status_filter or []),
        ticket_charge_order=ticket_charge_order, payment_due_days=payment_due_days)
    session.add(schedule)
    session.flush()
    groups = [group_ref(g) for g in session.exec(
        select(InvoiceGroup).where(InvoiceGroup.organisation_id == org.id)).all()]
    chosen = choose_group(groups, required=org.require_invoice_group, chosen_id=group_id)
    if chosen is not None:
        join_group(session, schedule.id, chosen.id)
    return schedule


def add_recurring_line(session: Session, *, description: str | None = None,
                       recurring_id: int | None = None, contract_id: int | None = None,
                       line_type: str = "standard", unit_price: object | None = None,
                       quantity: object = "1", tax_rate: object | None = None,
                       product_code: str | None = None,
                       filters: dict[str, Any] | None = None) -> RecurringLine:
    """A template line; a counter line's ``filters`` go to the counter hooks as they are
    (e.g. ``{"asset_type": ["workstation"]}`` or ``{"attributes.remote_access": True}``)."""
    given = parse(LineInput, line_type=line_type, description=description,
                  unit_price=unit_price, quantity=quantity, tax_rate=tax_rate,
                  product_code=product_code, filters=dict(filters or {}))
    if (recurring_id is None) == (contract_id is None):
        raise ValidationFailed("a template line belongs to one recurring invoice or one contract",
                               hint="give exactly one of recurring_id and contract_id")
    if recurring_id is not None:
        owner_row = get_or_404(session, RecurringInvoice, recurring_id, "recurring invoice",
                               "list them with `hub recurring list`")
    else:
        owner_row = get_or_404(session, BillingContract, contract_id, "billing contract",
                               "list them with `hub contract list`")
    product = product_by_code(session, given.product_code) if given.product_code else None
    if product is not None and not product.active:
        raise ValidationFailed(f"product {product.code!r} is retired",
                               hint="use another product, or give the line its own --price")
    line_type, filters = given.line_type, given.filters
    description, unit_price, quantity, tax_rate = (given.description, given.unit_price,
                                                   given.quantity, given.tax_rate)
    owner = (RecurringLine.recurring_invoice_id == recurring_id) if recurring_id else \
        (RecurringLine.contract_id == contract_id)
    position = len(session.exec(select(RecurringLine.id).where(owner)).all())
    line = RecurringLine(
        recurring_invoice_id=recurring_id, contract_id=contract_id, position=position,
        line_type=line_type, product_id=product.id if product else None,
        description=description or (product.name if product else line_type),
        quantity=to_decimal(quantity),
        unit_price=to_decimal(unit_price) if unit_price is not None else catalogue_price(
            product, session.get(Organisation, owner_row.organisation_id).currency),
        tax_rate=to_decimal(tax_rate) if tax_rate is not None else (
            product.tax_rate if product else to_decimal("0")),
        counter_filters=dict(filters or {}))
    check_total(session, line, recurring_id=recurring_id, contract_id=contract_id)
    session.add(line)
    session.flush()
    return line


def check_total(session: Session, changed: RecurringLine, *, recurring_id: int | None = None,
                contract_id: int | None = None) -> None:
    """Refuse a line that would make its invoice's flat lines total below zero (a discount
    larger than what it discounts); counter lines are counted at billing time, and a run
    leaves a negative invoice out with a note."""
    owner = (RecurringLine.recurring_invoice_id == recurring_id) if recurring_id else \
        (RecurringLine.contract_id == contract_id)
    others = session.exec(select(RecurringLine).where(owner, RecurringLine.active)).all()
    lines = [line for line in others if line.id != changed.id] + \
        ([changed] if changed.active else [])
    total = sum((line.quantity * line.unit_price for line in lines
                 if line.line_type == "standard"), to_decimal(0))
    if total < 0:
        raise ValidationFailed(f"the standard lines would total {total}, below zero",
                               hint="an invoice cannot be negative; make the discount smaller "
                                    "or add a credit with `hub org future-item`")


def create_group(session: Session, organisation_id: int, description: str,
                 next_date: dt.date, *, frequency: str = "monthly",
                 interval: int = 1, combine: bool = False) -> InvoiceGroup:
    """An invoice group aligning agreements to ``next_date``'s day (1–28); with ``combine``
    its agreements are invoiced together, one invoice per period."""
    given = parse(GroupInput, organisation_id=organisation_id, description=description,
                  next_date=next_date, frequency=frequency)
    billable_organisation(session, given.organisation_id)
    description, frequency = given.description, given.frequency.value
    group = InvoiceGroup(organisation_id=organisation_id, description=description,
                         frequency=frequency, interval=interval, align_day=next_date.day,
                         next_date=next_date, combine=combine)
    session.add(group)
    session.flush()
    return group


def join_group(session: Session, recurring_id: int, group_id: int) -> RecurringInvoice:
    """Align a live agreement to a group: its next invoice date moves to the group's date and
    the days in between are billed pro-rata on that invoice (``covered_from`` is kept)."""
    schedule = get_or_404(session, RecurringInvoice, recurring_id, "recurring invoice",
                          "list them with `hub recurring list`")
    group = get_or_404(session, InvoiceGroup, group_id, "invoice group",
                       "list them with `hub recurring groups --org ORG`")
    if group.organisation_id != schedule.organisation_id:
        raise ValidationFailed("an agreement joins only its own account's invoice groups",
                               hint=f"pick a group of organisation {schedule.organisation_id}")
    ref = group_ref(group)
    plan = plan_join(schedule.next_run_date, ref)
    schedule.invoice_group_id = group.id
    schedule.billing_day = group.align_day
    schedule.frequency, schedule.interval = group.frequency, group.interval
    schedule.anchor_date = group.next_date
    schedule.next_run_date = plan.next_date
    if group.master_recurring_id is None:
        group.master_recurring_id = schedule.id
    return schedule


def set_master(session: Session, group_id: int, recurring_id: int) -> InvoiceGroup:
    """Make ``recurring_id`` the group's master agreement (it advances the group's date)."""
    group = get_or_404(session, InvoiceGroup, group_id, "invoice group",
                       "list them with `hub recurring groups --org ORG`")
    schedule = get_or_404(session, RecurringInvoice, recurring_id, "recurring invoice",
                          "list them with `hub recurring list`")
    if schedule.invoice_group_id != group.id:
        raise ValidationFailed("the master agreement must be in the group",
                               hint=f"join it first: "
                                    f"`hub recurring join {recurring_id} {group_id}`")
    group.master_recurring_id = schedule.id
    return group


def set_combine(session: Session, group_id: int, combine: bool) -> InvoiceGroup:
    """The group's choice: one combined invoice per period (``True``) or one invoice per
    agreement (``False``). Applies from the next billing run.

    Going back to one invoice per agreement is refused while a preview batch holds the group's
    combined draft: its agreements' own keys are free, so the next preview would bill the same
    period again and confirming both batches would bill it twice. (The other way round is
    safe: an agreement whose own draft a preview holds is left out of the merge.)"""
    group = get_or_404(session, InvoiceGroup, group_id, "invoice group",
                       "list them with `hub recurring list`")
    if group.combine and not combine:
        held = _batches_holding(session, group_key(group.id))
        if held:
            raise EditNotAllowed(
                f"invoice group {group.id}'s combined draft is in preview batch(es) "
                f"{', '.join(map(str, held))}",
                hint="confirm or discard those batches first (`hub bill confirm ID` or "
                     "`hub bill discard ID`), then invoice the agreements separately")
    group.combine = combine
    return group


def _batches_holding(session: Session, billing_key: str) -> list[int]:
    """Preview batches holding a draft invoice under ``billing_key``."""
    it, bt = Invoice.__table__, BillingBatch.__table__
    return list(session.execute(
        select(bt.c.id).distinct().join(it, it.c.batch_id == bt.c.id).where(
            bt.c.status == BatchStatus.preview, it.c.billing_key == billing_key)
        .order_by(bt.c.id)).scalars())
