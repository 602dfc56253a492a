"""What a document template sees: plain, read-only views built from the database rows.

Amounts stay exact (:class:`~hub.core.money.Money`); templates format them with the locale's
filters (``{{ invoice.total|money }}``). Nothing here touches the database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Iterable

from hub.core.money import Money

__all__ = ["CompanyView", "CustomerView", "CardView", "LineView", "TaxRateView", "InvoiceView",
           "CreditNoteView", "tax_breakdown"]


@dataclass(frozen=True)
class CompanyView:
    """The MSP as it appears in the document's header (``[company]`` settings)."""

    name: str
    address: tuple[str, ...] = ()
    email: str | None = None
    phone: str | None = None
    website: str | None = None
    tax_number: str | None = None
    logo: Path | None = None
    payment_instructions: str = ""


@dataclass(frozen=True)
class CustomerView:
    """The organisation billed: name, email and billing address lines."""

    id: int
    name: str
    email: str | None = None
    address: tuple[str, ...] = ()
    tax_number: str | None = None


@dataclass(frozen=True)
class CardView:
    """The stored card an auto-billed invoice will be charged to (never the full number)."""

    brand: str
    last4: str
    exp_month: int | None = None
    exp_year: int | None = None

    @property
    def label(self) -> str:
        """``Visa ending 4242 (exp. 04/2027)``."""
        text = f"{self.brand.title()} ending {self.last4}"
        if self.exp_month and self.exp_year:
            text += f" (exp. {self.exp_month:02d}/{self.exp_year})"
        return text


@dataclass(frozen=True)
class LineView:
    """One line of an invoice or credit note."""

    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Money
    tax_rate: Decimal
    tax_amount: Money
    line_type: str = "standard"
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    change: str | None = None
    prorata_note: str | None = None
    counted: int = 0

    @property
    def notes(self) -> list[str]:
        """Small print under the description, for the customer: the pro-rata explanation only.
        ``change`` is the internal change note ("-1 device: IL08-PC02", "pending ticket charge:
        ...") for whoever checks a batch; it stays in the hub and never reaches the PDF (#19)."""
        return [self.prorata_note] if self.prorata_note else []


@dataclass(frozen=True)
class TaxRateView:
    """Net amount and tax of every line at one rate."""

    rate: Decimal
    net: Money
    tax: Money


def tax_breakdown(lines: Iterable[LineView], currency: str) -> list[TaxRateView]:
    """Lines grouped by tax rate (highest first): the breakdown tax authorities ask for.

    The tax per rate is the sum of the lines' own (already rounded) tax, so the breakdown adds
    up to the document's tax total exactly.
    """
    groups: dict[Decimal, tuple[Money, Money]] = {}
    for line in lines:
        rate = line.tax_rate.normalize() if line.tax_rate else Decimal(0)
        net, tax = groups.get(rate, (Money.zero(currency), Money.zero(currency)))
        groups[rate] = (net + line.amount, tax + line.tax_amount)
    return [TaxRateView(rate, net, tax)
            for rate, (net, tax) in sorted(groups.items(), key=lambda item: -item[0])]


@dataclass(frozen=True)
class InvoiceView:
    """An invoice as the customer sees it."""

    id: int
    number: str | None
    kind: str
    status: str
    currency: str
    issue_date: dt.date
    due_date: dt.date
    period_start: dt.date | None
    period_end: dt.date | None
    lines: tuple[LineView, ...]
    subtotal: Money
    tax_total: Money
    total: Money
    amount_paid: Money
    credit_applied: Money
    amount_due: Money
    note: str = ""
    memo: str = ""
    auto_bill: bool = False
    card: CardView | None = None
    taxes: tuple[TaxRateView, ...] = field(default_factory=tuple)

    @property
    def title(self) -> str:
        """``Invoice``, ``Proforma invoice`` or ``Draft invoice``."""
        if self.status == "draft":
            return "Draft invoice"
        return "Proforma invoice" if self.kind == "proforma" else "Invoice"

    @property
    def display_number(self) -> str:
        """The number, or ``DRAFT`` while the invoice has none."""
        return self.number or "DRAFT"


@dataclass(frozen=True)
class CreditNoteView:
    """A credit note as the customer sees it."""

    id: int
    number: str
    currency: str
    date: dt.date
    reason: str
    invoice_number: str | None
    lines: tuple[LineView, ...]
    subtotal: Money
    tax_total: Money
    total: Money
    taxes: tuple[TaxRateView, ...] = field(default_factory=tuple)
