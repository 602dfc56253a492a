"""Which fields of an invoice may change, by status (seed 002).

- nothing paid yet (unpaid, or overdue/pending with nothing paid): every field, item and date;
- partially paid: note, memo, document date, payment due date, number and *existing* extra
  fields;
- paid: note, memo and existing extra fields;
- locked (synced to accounting): nothing — correct it with a credit note;
- deleted: nothing, ever.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Iterable, Mapping

from hub.core.ledger.statuses import Status, check_not_deleted
from hub.errors import DocumentLocked, EditNotAllowed

__all__ = ["ALL_FIELDS", "PARTIALLY_PAID_FIELDS", "PAID_FIELDS", "edit_class", "check_edit"]

#: Fields an unpaid invoice may change.
ALL_FIELDS = frozenset({"note", "memo", "issue_date", "due_date", "number", "extra_fields",
                        "period_start", "period_end", "lines"})
#: Seed 002: "Note, Memo, Document date, Payment due date, Number and existing additional fields".
PARTIALLY_PAID_FIELDS = frozenset({"note", "memo", "issue_date", "due_date", "number",
                                   "extra_fields"})
#: Seed 002: "only Note, Memo and existing additional fields".
PAID_FIELDS = frozenset({"note", "memo", "extra_fields"})

_LABEL = {"unpaid": "unpaid", "partially_paid": "partially paid", "paid": "paid"}


def edit_class(total: Decimal, paid: Decimal, credit: Decimal) -> str:
    """'unpaid', 'partially_paid' or 'paid': what the edit rules look at (money received, not
    the due date: an overdue invoice with nothing paid is still fully editable)."""
    covered = paid + credit
    if covered <= 0:
        return "unpaid"
    if covered >= total:
        return "paid"
    return "partially_paid"


def check_edit(*, number: str | None, status: str, total: Decimal, paid: Decimal,
               credit: Decimal, locked_by: str | None, changes: Mapping[str, Any],
               existing_extra_keys: Iterable[str]) -> None:
    """Raise the named refusal if ``changes`` (field -> new value) may not be applied."""
    what = f"invoice {number or '(draft)'}"
    check_not_deleted(status, what)
    if locked_by is not None:
        raise DocumentLocked(
            f"{what} is synced to accounting ({locked_by}) and locked; it cannot be edited",
            hint=f"create a credit note for it instead: `hub credit-note create --invoice {number}`")
    unknown = set(changes) - ALL_FIELDS
    if unknown:
        raise EditNotAllowed(f"{', '.join(sorted(unknown))} cannot be edited on an invoice",
                             hint=f"editable fields: {', '.join(sorted(ALL_FIELDS))}")
    if status == Status.draft:
        return
    klass = edit_class(total, paid, credit)
    allowed = {"unpaid": ALL_FIELDS, "partially_paid": PARTIALLY_PAID_FIELDS,
               "paid": PAID_FIELDS}[klass]
    refused = sorted(set(changes) - allowed)
    if refused:
        raise EditNotAllowed(
            f"{what} is {_LABEL[klass]}: {', '.join(refused)} cannot be changed "
            f"(a {_LABEL[klass]} invoice allows {', '.join(sorted(allowed))})",
            hint=f"create a credit note for {what} to correct amounts or items")
    if klass != "unpaid" and "extra_fields" in changes:
        added = sorted(set(changes["extra_fields"] or {}) - set(existing_extra_keys))
        if added:
            raise EditNotAllowed(
                f"{what} is {_LABEL[klass]}: only existing extra fields can be edited, "
                f"not new ones ({', '.join(added)})",
                hint="edit the values of the existing extra fields only")
