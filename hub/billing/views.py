"""Read-only views of batches and invoices for the CLI and the REST API (plain dicts)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from hub.billing.catalogue import get_or_404
from hub.db.models import BillingBatch, Invoice, InvoiceLine, Organisation

__all__ = ["invoice_view", "batch_view", "list_batches", "list_invoices"]

_LINE_FIELDS = ("id", "position", "line_type", "description", "quantity", "unit_price", "amount",
                "tax_rate", "tax_amount", "period_start", "period_end", "provenance", "change",
                "prorata_note")
_INVOICE_FIELDS = ("id", "organisation_id", "kind", "status", "number", "currency",
                   "issue_date", "due_date", "period_start", "period_end", "billing_key",
                   "batch_id", "subtotal", "tax_total", "total", "auto_bill",
                   "replaces_invoice_id", "converted_from_id", "extra_fields")


def _invoice_dict(invoice: Invoice, org_name: str | None, lines=None) -> dict[str, Any]:
    data = {f: getattr(invoice, f) for f in _INVOICE_FIELDS}
    data["kind"], data["status"] = invoice.kind.value, invoice.status.value
    data["organisation"] = org_name
    if lines is not None:
        data["lines"] = [{f: getattr(l, f) for f in _LINE_FIELDS} for l in lines]
    return data


def invoice_view(session: Session, invoice_id: int) -> dict[str, Any]:
    """One invoice with its lines (provenance, change and pro-rata explanation included)."""
    invoice = get_or_404(session, Invoice, invoice_id, "invoice",
                         "list invoices with `hub invoice list`")
    org = session.get(Organisation, invoice.organisation_id)
    lines = session.exec(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)
                         .order_by(InvoiceLine.position, InvoiceLine.id)).all()
    return _invoice_dict(invoice, org.name if org else None, lines)


def batch_view(session: Session, batch_id: int, *, limit: int | None = None) -> dict[str, Any]:
    """A batch and its invoices with their lines (the first ``limit`` invoices if given)."""
    batch = get_or_404(session, BillingBatch, batch_id, "billing batch",
                       "list batches with `hub bill list`")
    query = select(Invoice, Organisation.name).join(
        Organisation, Organisation.id == Invoice.organisation_id).where(
        Invoice.batch_id == batch_id).order_by(Invoice.id)
    if limit is not None:
        query = query.limit(limit)
    rows = session.exec(query).all()
    lines: dict[int, list[InvoiceLine]] = {}
    if rows:
        for line in session.exec(select(InvoiceLine).where(
                InvoiceLine.invoice_id.in_([r[0].id for r in rows]))
                .order_by(InvoiceLine.invoice_id, InvoiceLine.position)).all():
            lines.setdefault(line.invoice_id, []).append(line)
    return {"id": batch.id, "run_date": batch.run_date, "status": batch.status.value,
            "invoice_count": batch.invoice_count, "notes": list(batch.notes or []),
            "left_out": list(batch.left_out or []), "finished": batch.filled_at is not None,
            "created_at": batch.created_at, "confirmed_at": batch.confirmed_at,
            "invoices": [_invoice_dict(inv, name, lines.get(inv.id, [])) for inv, name in rows]}


def list_batches(session: Session, limit: int = 20, offset: int = 0,
                 status: str | None = None) -> list[dict[str, Any]]:
    """The latest batches (of ``status`` if given)."""
    query = select(BillingBatch).order_by(BillingBatch.id.desc())
    if status is not None:
        query = query.where(BillingBatch.status == status)
    batches = session.exec(query.limit(limit).offset(offset)).all()
    return [{"id": b.id, "run_date": b.run_date, "status": b.status.value,
             "invoice_count": b.invoice_count, "left_out": len(b.left_out or []),
             "created_at": b.created_at,
             "confirmed_at": b.confirmed_at} for b in batches]


def list_invoices(session: Session, *, organisation_id: int | None = None,
                  status: str | None = None, limit: int = 50, offset: int = 0
                  ) -> list[dict[str, Any]]:
    """The latest invoices, optionally of one organisation or status."""
    query = select(Invoice, Organisation.name).join(
        Organisation, Organisation.id == Invoice.organisation_id)
    if organisation_id is not None:
        query = query.where(Invoice.organisation_id == organisation_id)
    if status is not None:
        query = query.where(Invoice.status == status)
    rows = session.exec(query.order_by(Invoice.id.desc()).limit(limit).offset(offset)).all()
    return [_invoice_dict(inv, name) for inv, name in rows]


def count_invoices(session: Session, batch_id: int) -> int:
    """How many invoices a batch holds."""
    return session.exec(select(func.count()).select_from(Invoice)
                        .where(Invoice.batch_id == batch_id)).one()
