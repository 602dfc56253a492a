"""Building one draft invoice from a due schedule or contract cycle (no database access).

The loader (:mod:`hub.billing.loading`) gathers what is due into :class:`DueInvoice` records;
:func:`count_lines` asks the plugin hooks what a chunk of them counts (with provenance), and
:func:`build_draft` turns one into column values for an invoice and its lines: template lines
priced per coverage segment (pro-rata segments explained), counter lines at their counts,
pending ticket charges, then future items, and for each line the change from the previous
invoice of the same schedule.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Mapping, NamedTuple

from hub.billing.counters import Counter, CountResult
from hub.core.changes import LineSnapshot, describe_change, describe_ended
from hub.core.lines import FutureItemRef, LineKind, TakenItem, price_line, take_future_items
from hub.core.money import Money
from hub.core.prorata import Segment
from hub.core.tax import TaxRounding, line_taxes, unit_price_for

__all__ = ["TemplateLine", "PendingCharge", "DueInvoice", "Draft", "count_lines",
           "build_draft", "snapshot_lines"]


class TemplateLine(NamedTuple):
    """A recurring/contract template line, detached from the session (a tuple: a run reads
    five per organisation)."""

    id: int
    line_type: str
    description: str
    product_id: int | None
    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal
    counter_filters: Mapping[str, Any]


@dataclass(frozen=True)
class PendingCharge:
    """A ticket charge waiting to be invoiced."""

    id: int
    label: str
    description: str
    product_id: int | None
    quantity: Decimal
    unit_price: Decimal


@dataclass
class DueInvoice:
    """Everything needed to build one draft invoice."""

    organisation_id: int
    currency: str
    billing_key: str
    schedule_key: str
    issue_date: dt.date
    due_date: dt.date
    segments: list[Segment]
    lines: list[TemplateLine]
    external_ids: Mapping[str, str] = field(default_factory=dict)
    auto_bill: bool = False
    charges: list[PendingCharge] = field(default_factory=list)
    future_items: list[FutureItemRef] = field(default_factory=list)
    previous: dict[str, LineSnapshot] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    replaces_invoice_id: int | None = None
    #: the organisation's prices include tax (template and ticket prices are as printed)
    prices_include_tax: bool = False
    #: products among the lines whose catalogue price includes tax
    gross_products: frozenset[int] = frozenset()


@dataclass
class Draft:
    """Column values of the invoice and its lines, plus what it reserves."""

    invoice: dict[str, Any]
    lines: list[dict[str, Any]]
    taken: list[TakenItem]
    charge_ids: list[int]

    @property
    def key(self) -> tuple[str, dt.date]:
        """The exactly-once key: (billing key, period start)."""
        return self.invoice["billing_key"], self.invoice["period_start"]


def _unit_price(price: Decimal, currency: str, rate: Decimal, includes_tax: bool,
                inclusive_document: bool) -> Money:
    """A template line's unit price as its invoice shows it (:func:`unit_price_for`),
    remembered by value: a run prices the same few catalogue prices for every organisation."""
    key = (price, currency, rate, includes_tax, inclusive_document)
    unit = _UNITS.get(key)
    if unit is None:
        unit = unit_price_for(Money(price, currency), rate, includes_tax=includes_tax,
                              inclusive_document=inclusive_document)
        if len(_UNITS) >= _UNITS_KEPT:
            _UNITS.clear()
        _UNITS[key] = unit
    return unit


#: Unit prices by (price, currency, rate, includes tax, inclusive document); at most
#: _UNITS_KEPT. Equal prices written differently (12.5 and 12.50) share one: the line's
#: unit_price column is the Money's amount, and ExactDecimal stores equal values alike.
_UNITS: dict[tuple, Money] = {}
_UNITS_KEPT = 4096


def _sum(lines: list[dict[str, Any]], key: str) -> Decimal:
    return sum((line[key] for line in lines), Decimal(0))


def _line(position: int, line_type: str, description: str, product_id: int | None, priced,
          period_start: dt.date, period_end: dt.date, key: str, provenance: list,
          change: str | None, prorata_note: str | None = None) -> dict[str, Any]:
    return {"position": position, "line_type": line_type, "description": description,
            "product_id": product_id, "quantity": priced.quantity,
            "unit_price": priced.unit_price.amount, "amount": priced.amount.amount,
            "tax_rate": priced.tax_rate, "tax_amount": priced.tax.amount,
            "period_start": period_start, "period_end": period_end, "source_line_key": key,
            "provenance": provenance, "change": change, "prorata_note": prorata_note}


def count_lines(dues: list[DueInvoice], counter: Counter) -> list[dict[int, CountResult]]:
    """What each due invoice's counter lines count, by template line id, asked of the counter
    hooks all at once."""
    asked: list[tuple[int, int]] = []
    queries = []
    for index, due in enumerate(dues):
        first, last = due.segments[0].covered, due.segments[-1].covered
        for template in due.lines:
            kind = LineKind.COUNTERS.get(template.line_type)
            if kind is not None:
                asked.append((index, template.id))
                queries.append(counter.query(
                    kind, organisation_id=due.organisation_id, external_ids=due.external_ids,
                    filters=template.counter_filters, period_start=first.start,
                    period_end=last.end))
    counts: list[dict[int, CountResult]] = [{} for _ in dues]
    for (index, template_id), result in zip(asked, counter.count_many(queries) if queries
                                            else ()):
        counts[index][template_id] = result
    return counts


def _retax(lines: list[dict[str, Any]], currency: str, inclusive: bool,
           rounding: TaxRounding | str) -> None:
    """Work each line's tax out again for tax-inclusive prices or per-document rounding
    (:mod:`hub.core.tax`); per line and exclusive, :func:`price_line` already has it."""
    if not inclusive and TaxRounding(rounding) is TaxRounding.line:
        return
    taxes = line_taxes([(Money(line["amount"], currency), line["tax_rate"]) for line in lines],
                       inclusive=inclusive, rounding=rounding)
    for line, tax in zip(lines, taxes):
        line["tax_amount"] = tax.amount


def build_draft(due: DueInvoice, counts: Mapping[int, CountResult], now: dt.datetime,
                tax_rounding: TaxRounding | str = TaxRounding.line) -> Draft:
    """Price ``due`` into a draft (see module docstring); ``counts`` are its counter lines'
    counts by template line id (:func:`count_lines`); tax is rounded as ``tax_rounding``
    says, on prices that include it when the organisation's do."""
    currency = due.currency
    first, last = due.segments[0].covered, due.segments[-1].covered
    # each segment's figures once per invoice, not once per template line
    spans = [(segment.fraction, segment.covered.start, segment.covered.end,
              segment.explain() if segment.is_partial else None) for segment in due.segments]
    lines: list[dict[str, Any]] = []
    for template in due.lines:
        counted = counts.get(template.id)
        if counted is None:
            quantity, provenance = template.quantity, []
        else:
            quantity, provenance = counted.quantity, counted.provenance
        before = due.previous.get(f"line:{template.id}") if due.previous else None
        # a price typed on the line is as the organisation prints it; a product's price is
        # as the catalogue has it
        unit = _unit_price(template.unit_price, currency, template.tax_rate,
                           template.product_id in due.gross_products
                           if template.product_id is not None else due.prices_include_tax,
                           due.prices_include_tax)
        for fraction, start, end, note in spans:
            priced = price_line(unit, quantity, template.tax_rate, fraction)
            if due.previous is None:
                change = "first invoice"
            else:  # per segment: a pro-rata line and a full one differ in amount
                change = describe_change(before, LineSnapshot(
                    template.line_type, quantity, template.unit_price, provenance,
                    priced.amount.amount, note))
            lines.append(_line(
                len(lines), template.line_type,
                template.description if note is None else template.description + " (pro-rata)",
                template.product_id, priced, start, end, f"line:{template.id}", provenance,
                change, note))
    for charge in due.charges:
        priced = price_line(Money(charge.unit_price, currency), charge.quantity)
        lines.append(_line(len(lines), "ticket_charge", charge.description, charge.product_id,
                           priced, first.start, last.end, f"ticket_charge:{charge.id}",
                           [{"ref": f"ticket_charge:{charge.id}", "label": charge.label}],
                           f"pending ticket charge: {charge.label}"))
    inclusive = due.prices_include_tax
    _retax(lines, currency, inclusive, tax_rounding)
    amounts, tax = _sum(lines, "amount"), _sum(lines, "tax_amount")
    gross = amounts if inclusive else amounts + tax
    taken = take_future_items(Money(gross, currency), due.future_items) if due.future_items \
        else []
    for item in taken:
        priced = price_line(item.taken, 1)
        kind = "debit" if not item.taken.is_negative else "credit"
        lines.append(_line(len(lines), "future_item", item.item.description, None, priced,
                           first.start, last.end, f"future_item:{item.item.id}",
                           [{"ref": f"future_item:{item.item.id}",
                             "label": item.item.description}],
                           f"future item ({kind}) #{item.item.id}"))
    # Every amount is already rounded to the currency, so plain Decimal sums are exact.
    if taken:
        amounts, tax = _sum(lines, "amount"), _sum(lines, "tax_amount")
    subtotal = amounts - tax if inclusive else amounts
    extra = dict(due.extra)
    if due.previous:
        # Template lines billed last time and not now (removed from the template): their end
        # is a change too, noted on the invoice since no line is left to carry it.
        billed = {f"line:{t.id}" for t in due.lines}
        ended = [(key, describe_ended(snap, currency))
                 for key, snap in sorted(due.previous.items())
                 if key.startswith("line:") and key not in billed]
        if ended:
            extra["ended_lines"] = [note for _, note in ended]
            extra["ended_keys"] = [key for key, _ in ended]
    invoice = {
        "organisation_id": due.organisation_id, "kind": "recurring", "status": "draft",
        "number": None, "currency": currency, "issue_date": due.issue_date,
        "due_date": due.due_date, "period_start": first.start, "period_end": last.end,
        "billing_key": due.billing_key, "schedule_key": due.schedule_key,
        "replaces_invoice_id": due.replaces_invoice_id,
        "subtotal": subtotal, "tax_total": tax, "total": subtotal + tax,
        "prices_include_tax": inclusive,
        "amount_paid": Decimal(0), "credit_applied": Decimal(0),
        "note": "", "memo": "", "extra_fields": extra, "auto_bill": due.auto_bill,
        "created_at": now,
    }
    return Draft(invoice, lines, taken, [c.id for c in due.charges])


def snapshot_lines(rows) -> dict[str, LineSnapshot]:
    """Previous-invoice lines by template key, preferring the full-period line over a pro-rata
    one. ``rows`` have ``source_line_key``, ``line_type``, ``quantity``, ``unit_price``,
    ``provenance`` and ``prorata_note`` (and, when read, ``amount`` and ``description``)."""
    result: dict[str, LineSnapshot] = {}
    partial: dict[str, LineSnapshot] = {}
    for row in rows:
        if not row.source_line_key:
            continue
        snap = LineSnapshot(row.line_type, row.quantity, row.unit_price, row.provenance or [],
                            getattr(row, "amount", None), row.prorata_note,
                            getattr(row, "description", ""))
        (partial if row.prorata_note else result)[row.source_line_key] = snap
    for key, snap in partial.items():
        result.setdefault(key, snap)
    return result
