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
    """How one kind of hub document is read: its table, columns and what should be pushed.

    Statements are built from the tables' Core columns, not the ORM's attributes: they compile
    several times faster (no ORM compile state), and a report compiles each of them afresh
    (its read-only engine is new, with an empty statement cache)."""

    name: str
    label: str
    model: Any  # the Core table
    columns: Callable[[], tuple]
    date_column: Callable[[], Any]
    pushable: Callable[[], list]
    absolute: bool = False  # payments: a refund is negative in the hub, positive elsewhere


_INVOICE = Invoice.__table__.c
_CREDIT_NOTE = CreditNote.__table__.c
_PAYMENT = Payment.__table__.c
_ALLOCATION = Allocation.__table__.c


def _invoice_columns() -> tuple:
    return (_INVOICE.id, _INVOICE.number, _INVOICE.organisation_id, _INVOICE.currency,
            _INVOICE.total, _INVOICE.status, _INVOICE.issue_date)


def _credit_note_status():
    """``paid`` once the credit note's whole total is allocated (applied to invoices or
    funding a refund), else ``open``: what Xero says (PAID / AUTHORISED). It was a hard-coded
    "open", so every fully allocated credit note showed up as a difference (#19)."""
    allocated = (select(func.coalesce(func.sum(_storage_units(_ALLOCATION.amount)), 0))
                 .where(_ALLOCATION.credit_note_id == _CREDIT_NOTE.id).scalar_subquery())
    total = _storage_units(_CREDIT_NOTE.total)
    return case((and_(total > 0, allocated >= total), literal("paid")), else_=literal("open"))


def _storage_units(column):
    """An amount as a whole number of its storage unit (10⁻⁴), compared exactly in SQL on both
    databases: SQLite keeps amounts as text (compared as text, "5" sorts after "20"), and a
    text value of at most four places, scaled and rounded, is an exact integer there."""
    return func.round(cast(column, Numeric) * (10 ** STORAGE_PLACES))


def _credit_note_columns() -> tuple:
    return (_CREDIT_NOTE.id, _CREDIT_NOTE.number, _CREDIT_NOTE.organisation_id,
            _CREDIT_NOTE.currency, _CREDIT_NOTE.total, _credit_note_status(), _CREDIT_NOTE.date)


def _payment_columns() -> tuple:
    return (_PAYMENT.id, _PAYMENT.reference, _PAYMENT.organisation_id, _PAYMENT.currency,
            _PAYMENT.amount, _PAYMENT.status, _PAYMENT.date)


KINDS: dict[str, DocumentKind] = {
    "invoice": DocumentKind(
        "invoice", "invoice", Invoice.__table__, _invoice_columns, lambda: _INVOICE.issue_date,
        lambda: [_INVOICE.status.not_in([InvoiceStatus.draft, InvoiceStatus.deleted]),
                 _INVOICE.kind != InvoiceKind.proforma, _INVOICE.number.is_not(None)]),
    "credit_note": DocumentKind(
        "credit_note", "credit note", CreditNote.__table__, _credit_note_columns,
        lambda: _CREDIT_NOTE.date, lambda: []),
    "payment": DocumentKind(
        "payment", "payment", Payment.__table__, _payment_columns, lambda: _PAYMENT.date,
        lambda: [_PAYMENT.status == PaymentStatus.succeeded], absolute=True),
}


def document_filters(kind: DocumentKind, options: Options) -> list:
    """SQL conditions for the organisation and date window of ``options``."""
    model, date_column = kind.model, kind.date_column()
    conditions = []
    if options.organisation_id is not None:
        conditions.append(model.c.organisation_id == options.organisation_id)
    if options.since is not None:
        conditions.append(date_column >= options.since)
    if options.until is not None:
        conditions.append(date_column <= options.until)
    return conditions
