"""Seed finalised invoices with outbox push rows, as a confirmed billing batch would."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hub.db.engine import session_scope
from hub.db.models import Invoice, InvoiceLine, InvoiceStatus, Organisation, OutboxEntry
from hub.db.models.sync import Effect


def amount_of(i: int) -> Decimal:
    """The distinct, exact total of the i-th seeded invoice."""
    return Decimal(100 + i) + Decimal(i % 100) / 100


def seed_invoices(engine, count: int, connection: str, *, prefix: str = "T") -> list[int]:
    """``count`` unpaid invoices with one line each and a push outbox row each; returns ids."""
    ids = []
    with session_scope(engine) as session:
        org = Organisation(name="Acme")
        session.add(org)
        session.flush()
        invoices = []
        for i in range(count):
            total = amount_of(i)
            invoice = Invoice(organisation_id=org.id, status=InvoiceStatus.unpaid,
                              number=f"{prefix}{i:06d}", issue_date=dt.date(2026, 11, 1),
                              due_date=dt.date(2026, 11, 15), subtotal=total, total=total,
                              currency="USD")
            invoices.append(invoice)
        session.add_all(invoices)
        session.flush()
        for invoice in invoices:
            session.add(InvoiceLine(invoice_id=invoice.id, description="Managed service",
                                    quantity=Decimal(1), unit_price=invoice.total,
                                    amount=invoice.total))
            session.add(OutboxEntry(effect=Effect.push, document_kind="invoice",
                                    document_id=invoice.id, connection=connection))
            ids.append(invoice.id)
    return ids
