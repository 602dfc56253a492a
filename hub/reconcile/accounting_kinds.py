"""The kinds of hub document the accounting section reconciles: invoices, credit notes and
payments, with the table, columns and push conditions of each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy import Numeric, and_, case, cast, func, literal, select

from hub.db.models import Allocation, CreditNote, Invoice, InvoiceKind, InvoiceStatus, Payment
from hub.core.money import STORAGE_PLACES
from hub.db.models.ledger import PaymentStatus
from hub.reconcile.core import Options

__all__ = ["DocumentKind", "KINDS", "SECTION", "BATCH", "document_filters"]

SECTION = "accounting"
#: Differences looked up together (lines, links, outbox rows): one query per batch.
BATCH = 500


@dataclass(frozen=True)
class DocumentKind:
    """How one kind of hub document is read: its table, columns and what should be pushed."""

    name: str
    label: str
    model: Any
    columns: Callable[[], tuple]
    date_column: Callable[[], Any]
    pushable: Callable[[], list]
    absolute: bool = False  # payments: a refund is negative in the hub, positive elsewhere


def _invoice_columns() -> tuple:
    return (Invoice.id, Invoice.number, Invoice.organisation_id, Invoice.currency,
            Invoice.total, Invoice.status, Invoice.issue_date)


def _credit_note_status():
    """``paid`` once the credit note's whole total is allocated (applied to invoices or
    funding a refund), else ``open``: what Xero says (PAID / AUTHORISED). It was a hard-coded
    "open", so every fully allocated credit note showed up as a difference (#19)."""
    allocated = (select(func.coalesce(func.sum(_storage_units(Allocation.amount)), 0))
                 .where(Allocation.credit_note_id == CreditNote.id).scalar_subquery())
    total = _storage_units(CreditNote.total)
    return case((and_(total > 0, allocated >= total), literal("paid")), else_=literal("open"))


def _storage_units(column):
    """An amount as a whole number of its storage unit (10⁻⁴), compared exactly in SQL on both
    databases: SQLite keeps amounts as text (compared as text, "5" sorts after "20"), and a
    text value of at most four places, scaled and rounded, is an exact integer there."""
    return func.round(cast(column, Numeric) * (10 ** STORAGE_PLACES))


def _credit_note_columns() -> tuple:
    return (CreditNote.id, CreditNote.number, CreditNote.organisation_id, CreditNote.currency,
            CreditNote.total, _credit_note_status(), CreditNote.date)


def _payment_columns() -> tuple:
    return (Payment.id, Payment.reference, Payment.organisation_id, Payment.currency,
            Payment.amount, Payment.status, Payment.date)


KINDS: dict[str, DocumentKind] = {
    "invoice": DocumentKind(
        "invoice", "invoice", Invoice, _invoice_columns, lambda: Invoice.issue_date,
        lambda: [Invoice.status.not_in([InvoiceStatus.draft, InvoiceStatus.deleted]),
                 Invoice.kind != InvoiceKind.proforma, Invoice.number.is_not(None)]),
    "credit_note": DocumentKind(
        "credit_note", "credit note", CreditNote, _credit_note_columns, lambda: CreditNote.date,
        lambda: []),
    "payment": DocumentKind(
        "payment", "payment", Payment, _payment_columns, lambda: Payment.date,
        lambda: [Payment.status == PaymentStatus.succeeded], absolute=True),
}


def document_filters(kind: DocumentKind, options: Options) -> list:
    """SQL conditions for the organisation and date window of ``options``."""
    model, date_column = kind.model, kind.date_column()
    conditions = []
    if options.organisation_id is not None:
        conditions.append(model.organisation_id == options.organisation_id)
    if options.since is not None:
        conditions.append(date_column >= options.since)
    if options.until is not None:
        conditions.append(date_column <= options.until)
    return conditions
