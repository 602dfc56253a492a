"""Changing and ending agreements: recurring invoices, their template lines, invoice groups,
billing contracts and future items.

The status rules: a recurring invoice ends on a date (it bills up to and including that day, and
stays listed for the invoices it made); it cannot end before what it has already invoiced, which
only a credit note can take back. A template line is retired, not deleted, so earlier invoices
still explain their lines. A future item can be changed or removed only while no invoice has
taken it. Every change is parsed through :mod:`hub.validation.records` first, and written to
the audit trail with the transaction that makes it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import Session

from hub.billing.catalogue import get_or_404
from hub.billing.editing import apply_changes, audit_change
from hub.billing.recurring import check_agreement_date, check_total
from hub.ledger.amounts import exact_amount
from hub.db.models import (
    BillingContract, FutureItem, InvoiceGroup, Organisation, RecurringInvoice, RecurringLine,
)
from hub.errors import EditNotAllowed, ValidationFailed
from hub.validation import parse
from hub.validation.changes import note_edit
from hub.validation.fields import check_filters, check_line_amount
from hub.validation.records import (
    ContractChanges, FutureItemChanges, GroupChanges, LineChanges, RecurringChanges,
)

__all__ = ["edit_recurring", "end_recurring", "edit_line", "retire_line", "edit_group",
           "edit_contract", "end_contract", "edit_future_item", "remove_future_item"]

_RECURRING_HINT = "list them with `hub recurring list`"


def _check_end(schedule: RecurringInvoice, end_date: dt.date) -> None:
    invoiced_through = schedule.covered_from - dt.timedelta(days=1)
    if end_date < invoiced_through:
        raise EditNotAllowed(
            f"recurring invoice {schedule.id} is invoiced through {invoiced_through}",
            hint=f"end it on or after {invoiced_through}, and credit the invoiced days with "
                 f"`hub credit-note create` if the service stopped earlier")


def edit_recurring(session: Session, recurring_id: int, values: dict[str, Any]
                   ) -> RecurringInvoice:
    """Change a recurring invoice's name, end date, auto-bill, ticket charge options or due
    days."""
    changes = parse(RecurringChanges, values, what=f"recurring invoice {recurring_id}").given()
    schedule = get_or_404(session, RecurringInvoice, recurring_id, "recurring invoice",
                          _RECURRING_HINT)
    if changes.get("end_date") is not None:
        # Before what was invoiced is refused too, but a year-1 end deserves the typo's
        # message, with the earliest date taken; an end years ahead is an ordinary term.
        check_agreement_date(changes["end_date"], "end date", ahead=False)
        _check_end(schedule, changes["end_date"])
    return apply_changes(session, schedule, changes, "recurring_invoice")


def end_recurring(session: Session, recurring_id: int, end_date: dt.date) -> RecurringInvoice:
    """The agreement ends after ``end_date``: its last invoice bills up to that day
    (pro-rata), then it makes no more."""
    return edit_recurring(session, recurring_id, {"end_date": end_date})


def _line(session: Session, line_id: int) -> RecurringLine:
    return get_or_404(session, RecurringLine, line_id, "template line",
                      "see the lines with `hub recurring lines RECURRING`")


def edit_line(session: Session, line_id: int, values: dict[str, Any]) -> RecurringLine:
    """Change a template line's description, price, quantity, tax rate or counter filters; the
    next invoice shows the change (e.g. "price 10.00 → 12.00")."""
    changes = parse(LineChanges, values, what=f"line {line_id}").given()
    line = _line(session, line_id)
    # The filters are stored as the line's counter_filters, and audited as "filters" (what
    # the admin typed): an edit of a line's filters changes what it bills like a new price.
    filters_changed: dict[str, tuple[Any, Any]] = {}
    if "filters" in changes:
        try:
            filters = check_filters(line.line_type, changes.pop("filters") or {})
        except ValueError as exc:
            raise ValidationFailed(f"line {line_id}: filters: {exc}") from None
        filters_changed["filters"] = (dict(line.counter_filters or {}), filters)
        line.counter_filters = filters
    before = {key: getattr(line, key) for key in changes}
    for key, value in changes.items():
        setattr(line, key, value)
    try:
        try:  # a new price or quantity against the stored other: a billing run must store it
            check_line_amount(line.quantity, line.unit_price, line.tax_rate)
        except ValueError as exc:
            raise ValidationFailed(f"line {line_id}: {exc}") from None
        check_total(session, line, recurring_id=line.recurring_invoice_id,
                    contract_id=line.contract_id)
    except ValidationFailed:
        for key, value in before.items():
            setattr(line, key, value)
        if filters_changed:
            line.counter_filters = filters_changed["filters"][0]
        raise
    audit_change(session, "template_line", line.id, "edited",
                 {**{key: (before[key], value) for key, value in changes.items()},
                  **filters_changed})
    return line


def retire_line(session: Session, line_id: int) -> RecurringLine:
    """Stop billing a template line from the next invoice on (earlier invoices keep it)."""
    line = _line(session, line_id)
    if not line.active:
        note_edit(session, False)  # already retired: nothing written, nothing audited
        return line
    line.active = False
    try:
        check_total(session, line, recurring_id=line.recurring_invoice_id,
                    contract_id=line.contract_id)
    except ValidationFailed:
        line.active = True
        raise
    audit_change(session, "template_line", line.id, "retired")
    note_edit(session, True)
    return line


def edit_group(session: Session, group_id: int, values: dict[str, Any]) -> InvoiceGroup:
    """Change an invoice group's description (its date moves with its master agreement)."""
    changes = parse(GroupChanges, values, what=f"invoice group {group_id}").given()
    group = get_or_404(session, InvoiceGroup, group_id, "invoice group",
                       "list them with `hub recurring groups`")
    return apply_changes(session, group, changes, "invoice_group")


def edit_contract(session: Session, contract_id: int, values: dict[str, Any]
                  ) -> BillingContract:
    """Change a billing contract's name, post-invoicing tasks or refund policy."""
    changes = parse(ContractChanges, values, what=f"billing contract {contract_id}").given()
    contract = get_or_404(session, BillingContract, contract_id, "billing contract",
                          "list them with `hub contract list`")
    return apply_changes(session, contract, changes, "billing_contract")


def end_contract(session: Session, contract_id: int) -> BillingContract:
    """No further cycle of the contract is invoiced; invoiced cycles stay as they are."""
    contract = get_or_404(session, BillingContract, contract_id, "billing contract",
                          "list them with `hub contract list`")
    contract.active = False
    audit_change(session, "billing_contract", contract.id, "ended")
    return contract


def _waiting_item(session: Session, item_id: int) -> FutureItem:
    item = get_or_404(session, FutureItem, item_id, "future item",
                      "list them with `hub org future-items`")
    if item.invoice_id is not None or item.used:
        raise EditNotAllowed(f"future item {item_id} is already on invoice {item.invoice_id}",
                             hint="discard that preview batch first, or credit the invoice")
    return item


def edit_future_item(session: Session, item_id: int, values: dict[str, Any]) -> FutureItem:
    """Change a waiting future item's description or amount."""
    changes = parse(FutureItemChanges, values, what=f"future item {item_id}").given()
    item = _waiting_item(session, item_id)
    if "amount" in changes:
        org = session.get(Organisation, item.organisation_id)
        changes["amount"] = exact_amount(changes["amount"], org.currency,
                                         f"future item {item_id}: amount")
        if not changes["amount"]:
            raise ValidationFailed("a future item of 0 changes nothing",
                                   hint="remove it with `hub org future-item-remove ID`")
    return apply_changes(session, item, changes, "future_item")


def remove_future_item(session: Session, item_id: int) -> None:
    """Remove a future item no invoice has taken (it never reached a document)."""
    item = _waiting_item(session, item_id)
    audit_change(session, "future_item", item.id, "removed",
                 {"description": (item.description, None), "amount": (item.amount, None)})
    session.delete(item)
