"""Statements (seed 002): all finance documents (invoices, payments, credit notes) or all
transactions of a customer for a period, and the "Total invoiced" figures.

Totals follow the seed's rules:

- deleted invoices are not counted;
- the **Paid** category holds paid *and* partially paid invoices (what was paid on them);
- the **Unpaid** category holds due (unpaid, pending, overdue) *and* partially paid invoices
  (what is still due on them);
- so a partially paid invoice appears in both, and invoiced = paid + unpaid.

The "Total paid" table (seed 002: "the Total paid table may differ depending on what payment
methods are set up") sums the period's payments by payment method, refunds netted off.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Iterable, Literal

from hub.core.money import Money
from hub.errors import ValidationFailed

__all__ = ["DocumentRow", "TransactionRow", "Totals", "Statement", "invoice_totals", "paid_by_method",
           "documents_statement", "transactions_statement"]

_PAID_SIDE = {"paid", "paid_from_balance", "partially_paid"}
_UNPAID_SIDE = {"unpaid", "pending", "overdue", "partially_paid"}


@dataclass(frozen=True)
class DocumentRow:
    """An invoice, payment or credit note as a statement lists it."""

    kind: Literal["invoice", "payment", "credit_note"]
    key: object
    number: str
    date: dt.date
    amount: Money
    status: str = ""
    paid: Money | None = None
    due: Money | None = None
    links: tuple[str, ...] = ()


@dataclass(frozen=True)
class TransactionRow:
    """A debit or credit transaction."""

    key: object
    date: dt.date
    side: Literal["debit", "credit"]
    amount: Money
    description: str = ""


@dataclass(frozen=True)
class Totals:
    """The "Total invoiced" table."""

    invoiced: Money
    invoiced_count: int
    paid: Money
    paid_count: int
    unpaid: Money
    unpaid_count: int


@dataclass
class Statement:
    """A statement for ``start``..``end`` (inclusive)."""

    start: dt.date
    end: dt.date
    mode: Literal["documents", "transactions"]
    currency: str
    documents: list[DocumentRow] = field(default_factory=list)
    transactions: list[tuple[TransactionRow, Money]] = field(default_factory=list)
    opening_balance: Money | None = None
    closing_balance: Money | None = None
    totals: Totals | None = None
    paid_by_method: dict[str, Money] = field(default_factory=dict)


def _check_period(start: dt.date, end: dt.date) -> None:
    if end < start:
        raise ValidationFailed(f"the period ends ({end}) before it starts ({start})",
                               hint="give --start on or before --end")


def invoice_totals(invoices: Iterable[DocumentRow], currency: str) -> Totals:
    """Total invoiced / paid / unpaid by the seed's rules (see module docstring).

    An overdue or pending invoice with something paid on it counts like a partially paid one
    (seed 002: "Partially paid" is not shown for overdue invoices, but the money was paid), so
    invoiced always equals paid plus unpaid."""
    zero = Money.zero(currency)
    invoiced, paid, unpaid = zero, zero, zero
    n_inv = n_paid = n_unpaid = 0
    for row in invoices:
        if row.kind != "invoice" or row.status in ("deleted", "draft"):
            continue
        invoiced, n_inv = invoiced + row.amount, n_inv + 1
        row_paid, row_due = row.paid or zero, row.due or zero
        if row.status in _PAID_SIDE or row_paid.amount > 0:
            paid, n_paid = paid + row_paid, n_paid + 1
        if row.status in _UNPAID_SIDE and row_due.amount > 0:
            unpaid, n_unpaid = unpaid + row_due, n_unpaid + 1
    return Totals(invoiced, n_inv, paid, n_paid, unpaid, n_unpaid)


def documents_statement(rows: Iterable[DocumentRow], start: dt.date, end: dt.date,
                        currency: str) -> Statement:
    """Finance documents dated in the period, oldest first, with the period's totals."""
    _check_period(start, end)
    chosen = sorted((r for r in rows if start <= r.date <= end),
                    key=lambda r: (r.date, r.kind, str(r.number)))
    return Statement(start, end, "documents", currency, documents=chosen,
                     totals=invoice_totals(chosen, currency),
                     paid_by_method=paid_by_method(chosen, currency))


def paid_by_method(rows: Iterable[DocumentRow], currency: str) -> dict[str, Money]:
    """The "Total paid" table: payments (less refunds) per payment method, by method name.
    A payment row's ``status`` is its method."""
    table: dict[str, Money] = {}
    for row in rows:
        if row.kind == "payment":
            method = str(row.status) or "other"
            table[method] = table.get(method, Money.zero(currency)) + row.amount
    # Stored amounts are whole minor units (kept with four places): shown at the minor unit.
    return {method: total.rounded() for method, total in sorted(table.items())}


def transactions_statement(rows: Iterable[TransactionRow], start: dt.date, end: dt.date,
                           currency: str) -> Statement:
    """Transactions in the period with the running balance (credits minus debits), starting
    from the balance of everything before the period."""
    _check_period(start, end)
    opening = Money.zero(currency)
    inside = []
    for row in sorted(rows, key=lambda r: (r.date, str(r.key))):
        signed = row.amount if row.side == "credit" else -row.amount
        if row.date < start:
            opening = opening + signed
        elif row.date <= end:
            inside.append((row, signed))
    running, listed = opening, []
    for row, signed in inside:
        running = running + signed
        listed.append((row, running))
    return Statement(start, end, "transactions", currency, transactions=listed,
                     opening_balance=opening, closing_balance=running)
