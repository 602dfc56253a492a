"""Section *usage*: vendor licence and usage counts against what was billed for the same
period, per organisation and SKU ("billed 43, vendor says 45").

Two checks, both streamed:

1. **Billed lines against the vendor.** Every vendor-usage line of a final invoice (its pro-rata
   segments taken together) is counted again through the counter hooks with its template line's
   filters and its period — exactly the question the billing run asked. A different answer now
   means the vendor's count moved after billing (a true-up the customer owes, or a credit they
   are due). Money at stake: the difference × the line's unit price.
2. **Vendor usage nobody billed.** Stored usage snapshots and billed lines are both put in
   (organisation, SKU) order and merge-joined; a snapshot period that no billed line of that SKU
   overlaps, in a period the organisation *was* invoiced for, is a licence the MSP pays for and
   never charges. Money at stake: quantity × the catalogue price of the SKU (the product whose
   code is the SKU), else the vendor's unit cost.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from itertools import groupby
from typing import TYPE_CHECKING, Any, Iterator, NamedTuple

from sqlalchemy import and_, exists, func, select

from hub.core.money import Money
from hub.db.models import (
    Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, LineType, Organisation, Product,
    UsageSnapshot,
)
from hub.reconcile.core import ADD_TO_NEXT_INVOICE, Difference, Options, Progress
from hub.reconcile.counting import Counting
from hub.reconcile.reading import key_order, read_only, stream
from hub.reconcile.streams import merge_join, sorted_stream

if TYPE_CHECKING:
    from hub.host.context import HubContext

__all__ = ["run"]

SECTION = "usage"
_FINAL = (InvoiceStatus.draft, InvoiceStatus.deleted)


class BilledUsage(NamedTuple):
    """One counter line of one invoice: what was billed, for which SKU and period."""

    organisation_id: int
    sku: str
    start: dt.date
    end: dt.date
    quantity: Decimal
    unit_price: Decimal
    currency: str
    invoice: str
    description: str
    filters: Any


def run(ctx: "HubContext", options: Options, progress: Progress) -> Iterator[Difference]:
    """Both checks (see module docstring)."""
    with read_only(ctx.engine) as reader:
        counting = Counting(ctx, reader)
        progress.start(SECTION, "billed usage against vendor counts")
        with reader.connect() as conn:
            for billed in _billed(conn, counting, options):
                progress.advance()
                found = _recount(counting, billed)
                if found is not None:
                    yield found
        progress.start(SECTION, "vendor usage nobody billed")
        with reader.connect() as streaming, reader.connect() as conn:
            billed_keys = sorted_stream(
                ((b.organisation_id, b.sku, b.start, b.end)
                 for b in _billed(streaming, counting, options)), key=lambda k: k)
            billed_groups = ((key, [(k[2], k[3]) for k in group])
                             for key, group in groupby(billed_keys, key=lambda k: (k[0], k[1])))
            with reader.connect() as snapshots_conn:
                snapshot_groups = ((key, list(group)) for key, group in groupby(
                    _snapshots(snapshots_conn, reader, options), key=lambda s: (s[0], s[1])))
                for billed, vendor in merge_join(billed_groups, snapshot_groups,
                                                 lambda g: g[0], lambda g: g[0]):
                    progress.advance()
                    if vendor is None:
                        continue
                    periods = billed[1] if billed is not None else []
                    for snapshot in vendor[1]:
                        if any(start <= snapshot[3] and end >= snapshot[2]
                               for start, end in periods):
                            continue
                        found = _unbilled(conn, snapshot)
                        if found is not None:
                            yield found


def _billed(conn, counting: Counting, options: Options) -> Iterator[BilledUsage]:
    """Vendor-usage lines of final invoices, one item per (invoice, template line)."""
    line_start = func.coalesce(InvoiceLine.period_start, Invoice.period_start, Invoice.issue_date)
    line_end = func.coalesce(InvoiceLine.period_end, Invoice.period_end, Invoice.issue_date)
    conditions = [InvoiceLine.line_type == LineType.vendor_usage, Invoice.status.not_in(_FINAL)]
    if options.organisation_id is not None:
        conditions.append(Invoice.organisation_id == options.organisation_id)
    if options.since is not None:
        conditions.append(line_end >= options.since)
    if options.until is not None:
        conditions.append(line_start <= options.until)
    statement = (select(Invoice.organisation_id, Invoice.id, Invoice.number, Invoice.currency,
                        InvoiceLine.source_line_key, InvoiceLine.quantity,
                        InvoiceLine.unit_price, InvoiceLine.description, InvoiceLine.provenance,
                        Product.code.label("product_code"),
                        line_start.label("start"), line_end.label("end"))
                 .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
                 .outerjoin(Product, Product.id == InvoiceLine.product_id)
                 .where(*conditions)
                 .order_by(Invoice.id, InvoiceLine.source_line_key, InvoiceLine.position))
    for _key, group in groupby(
            stream(conn, statement),
            key=lambda r: (r.id, r.source_line_key or f"position:{r.description}")):
        rows = list(group)  # the pro-rata segments of one template line: a handful
        first = rows[0]
        filters = counting.template_filters(first.source_line_key)
        # the template's SKU filter is what billing counted; failing that (template deleted),
        # the SKU named in the provenance or the line's product code
        sku = ((filters or {}).get("sku") or _sku_from_provenance(first.provenance)
               or first.product_code)
        if sku is None:
            continue  # not a counter line the hub can re-count
        yield BilledUsage(first.organisation_id, str(sku), min(r.start for r in rows),
                          max(r.end for r in rows), first.quantity, first.unit_price,
                          first.currency, first.number or f"#{first.id}",
                          first.description.removesuffix(" (pro-rata)"),
                          dict(filters) if filters is not None else {"sku": sku})


def _sku_from_provenance(provenance: Any) -> str | None:
    for item in provenance or ():
        if isinstance(item, dict) and item.get("sku"):
            return str(item["sku"])
    return None


def _recount(counting: Counting, billed: BilledUsage) -> Difference | None:
    now = counting.count("usage", billed.organisation_id, billed.filters, billed.start,
                         billed.end).quantity
    if now == billed.quantity:
        return None
    gap = now - billed.quantity
    at_stake = Money(abs(gap) * billed.unit_price, billed.currency).rounded()
    if gap > 0:
        cause = (f"vendor count rose after billing: {_qty(gap)} more {billed.sku} licences "
                 "used than charged")
        fix = ADD_TO_NEXT_INVOICE
    else:
        cause = (f"vendor count fell after billing: {_qty(-gap)} fewer {billed.sku} licences "
                 "than charged")
        fix = f"issue a credit note on invoice {billed.invoice} for {_qty(-gap)} × {billed.sku}"
    return Difference(SECTION, "usage_differs", billed.organisation_id,
                      f"invoice {billed.invoice}: {billed.sku} {billed.start}..{billed.end}",
                      "hub invoice ↔ vendor", f"billed {_qty(billed.quantity)}",
                      f"vendor says {_qty(now)}", at_stake, cause, fix)


def _snapshots(conn, engine, options: Options) -> Iterator[tuple]:
    """Stored vendor counts per (organisation, SKU, period), in that order."""
    conditions = [UsageSnapshot.organisation_id.is_not(None),
                  UsageSnapshot.deleted_at_source.is_(None)]
    if options.organisation_id is not None:
        conditions.append(UsageSnapshot.organisation_id == options.organisation_id)
    if options.since is not None:
        conditions.append(UsageSnapshot.period_end >= options.since)
    if options.until is not None:
        conditions.append(UsageSnapshot.period_start <= options.until)
    statement = (select(UsageSnapshot.organisation_id, UsageSnapshot.sku,
                        UsageSnapshot.period_start, UsageSnapshot.period_end,
                        UsageSnapshot.quantity, UsageSnapshot.unit_cost,
                        UsageSnapshot.currency)
                 .where(*conditions)
                 .order_by(UsageSnapshot.organisation_id, key_order(UsageSnapshot.sku, engine),
                           UsageSnapshot.period_start, UsageSnapshot.id))
    # Exact quantities are summed in Python: SQLite stores them as text (see ExactDecimal).
    for key, group in groupby(stream(conn, statement), key=lambda r: tuple(r[:4])):
        rows = list(group)
        quantity = sum((r.quantity for r in rows), Decimal(0))
        yield (*key, quantity, rows[0].unit_cost, rows[0].currency)


def _unbilled(conn, snapshot: tuple) -> Difference | None:
    organisation_id, sku, start, end, quantity, unit_cost, cost_currency = snapshot
    if quantity <= 0:
        return None
    invoiced = conn.execute(select(exists().where(
        Invoice.organisation_id == organisation_id, Invoice.status.not_in(_FINAL),
        Invoice.kind == InvoiceKind.recurring,
        and_(Invoice.period_start <= end, Invoice.period_end >= start)))).scalar()
    if not invoiced:
        return None  # that period has not been billed yet: nothing leaked so far
    currency = conn.execute(select(Organisation.currency)
                            .where(Organisation.id == organisation_id)).scalar() or "USD"
    product = conn.execute(select(Product.unit_price, Product.currency)
                           .where(Product.code == sku)).first()
    if product is not None:
        at_stake = Money(quantity * product.unit_price, product.currency).rounded()
        basis = "catalogue price"
    elif unit_cost is not None:
        at_stake = Money(quantity * unit_cost, cost_currency or currency).rounded()
        basis = "vendor cost"
    else:
        at_stake, basis = Money.zero(currency), "no price known"
    return Difference(SECTION, "usage_not_billed", organisation_id, f"{sku} {start}..{end}",
                      "hub invoice ↔ vendor", "billed 0", f"vendor says {_qty(quantity)}",
                      at_stake,
                      f"no recurring line bills {sku} for this organisation ({basis} shown)",
                      f"add a vendor-usage line for {sku} to the recurring invoice; "
                      f"{ADD_TO_NEXT_INVOICE} for the missed period")


def _qty(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text
