"""Who pays what: automatic and manual allocation of money to open items.

Seed 002 (Splynx) rules, reproduced here:

- a payment first pays off open ``+Debit`` transactions, then unpaid invoices in the order they
  were created (Example #2: a 100 USD debit and a 50 USD invoice, a 100 USD payment pays the
  debit only; the next 50 USD pays the invoice);
- money beyond what is due goes to the account balance; an invoice never becomes overpaid
  (Example #1: 120 invoiced, 50 paid leaves 70 due; a bigger later payment leaves the excess on
  the account).

Everything works in :class:`~hub.core.money.Money` of one currency.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Hashable, Mapping, Sequence

from hub.core.money import Money
from hub.errors import ValidationFailed

__all__ = ["OpenItem", "CreditSource", "Plan", "allocate_automatically", "allocate_manually",
           "draw_from_credits"]


@dataclass(frozen=True)
class OpenItem:
    """Something owed: an open debit transaction or an invoice with an amount due.

    ``created`` and ``seq`` give the order of creation (oldest first)."""

    key: Hashable
    due: Money
    created: dt.date
    seq: int = 0
    is_invoice: bool = True


@dataclass(frozen=True)
class CreditSource:
    """Money on the account not yet allocated (part of a payment, a credit note, a credit)."""

    key: Hashable
    available: Money
    created: dt.date
    seq: int = 0


@dataclass
class Plan:
    """The result of an allocation: ``parts`` (key, amount) and what is left over."""

    parts: list[tuple[Hashable, Money]] = field(default_factory=list)
    leftover: Money | None = None

    @property
    def allocated(self) -> Money:
        """Sum of the parts."""
        currency = self.leftover.currency if self.leftover is not None else "USD"
        return Money.sum((m for _, m in self.parts), currency)


def _positive(amount: Money, what: str) -> None:
    if amount.amount <= 0:
        raise ValidationFailed(f"{what} must be greater than zero, got {amount}",
                               hint="enter a positive amount; use a refund for money going back")


def allocate_automatically(amount: Money, open_items: Sequence[OpenItem]) -> Plan:
    """Allocate ``amount`` by the seed's order: open debit transactions first (oldest first),
    then invoices oldest first. What is not needed is ``leftover`` (account credit)."""
    _positive(amount, "a payment")
    ordered = sorted(open_items, key=lambda i: (i.is_invoice, i.created, i.seq))
    left = amount
    plan = Plan(leftover=amount)
    for item in ordered:
        if left.amount <= 0:
            break
        if item.due.amount <= 0:
            continue
        part = item.due if item.due <= left else left
        plan.parts.append((item.key, part))
        left = left - part
    plan.leftover = left
    return plan


def allocate_manually(amount: Money, requested: Mapping[Hashable, Money],
                      due: Mapping[Hashable, Money]) -> Plan:
    """Allocate exactly as ``requested`` (key -> amount), refusing anything that would overpay an
    item or spend more than ``amount``; the rest of ``amount`` is account credit."""
    _positive(amount, "a payment")
    plan = Plan(leftover=amount)
    spent = Money.zero(amount.currency)
    for key, part in requested.items():
        _positive(part, f"the amount for {key}")
        if key not in due:
            raise ValidationFailed(f"{key} has nothing due",
                                   hint="allocate only to open invoices or debit transactions")
        if part > due[key]:
            raise ValidationFailed(
                f"{part} is more than the {due[key]} due on {key}; an invoice is never overpaid",
                hint="allocate at most the amount due; the rest stays as account credit")
        spent = spent + part
        plan.parts.append((key, part))
    if spent > amount:
        raise ValidationFailed(f"the allocations add up to {spent}, more than the {amount} paid",
                               hint="reduce the allocations to the payment's amount")
    plan.leftover = amount - spent
    return plan


def draw_from_credits(amount: Money, credits: Sequence[CreditSource]) -> Plan:
    """Take ``amount`` from the account's unallocated credit, oldest first (paying from the
    balance, or funding a refund). Refuses when there is not enough credit."""
    _positive(amount, "the amount")
    available = Money.sum((c.available for c in credits), amount.currency)
    if available < amount:
        raise ValidationFailed(f"the account has {available} of credit, less than {amount}",
                               hint="record a payment first or use a smaller amount")
    plan = Plan(leftover=Money.zero(amount.currency))
    left = amount
    for credit in sorted(credits, key=lambda c: (c.created, c.seq)):
        if left.amount <= 0:
            break
        if credit.available.amount <= 0:
            continue
        part = credit.available if credit.available <= left else left
        plan.parts.append((credit.key, part))
        left = left - part
    return plan
