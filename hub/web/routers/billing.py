"""Billing over HTTP: organisations, invoices (one-time, proforma, from a ticket), billing
batches (preview → confirm/discard) and contract invoicing. Refusals are hub errors, turned
into HTTP answers by the app. Amounts are strings (exact decimals), never JSON floats."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Optional

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from hub.host.context import HubContext
from hub.db.engine import session_scope
from hub.web.deps import get_context, require_token

__all__ = ["router"]

router = APIRouter(tags=["billing"], dependencies=[Depends(require_token)])


def plain(value: Any) -> Any:
    """JSON-ready: Decimals as exact strings, dates as ISO strings."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrganisationIn(_Body):
    name: str
    currency: str = "USD"
    email: Optional[str] = None
    billing_day: int = Field(1, ge=1, le=28)
    payment_due_days: Optional[int] = None
    auto_bill: bool = False
    require_invoice_group: bool = False


class InvoiceIn(_Body):
    organisation_id: int
    issue_date: Optional[dt.date] = None
    proforma: bool = False
    note: str = ""


class LineIn(_Body):
    description: Optional[str] = None
    product_code: Optional[str] = None
    quantity: str = "1"
    unit_price: Optional[str] = Field(None, description="decimal string, e.g. '12.50'")
    tax_rate: Optional[str] = Field(None, description="percentage, e.g. '20'")


class PreviewIn(_Body):
    run_date: dt.date = Field(description="the billing date; may be in the future")


class ContractInvoiceIn(_Body):
    cycle: Optional[int] = Field(None, description="default: the next un-invoiced cycle")
    replace: bool = False
    post_tasks: bool = False
    preview: bool = False


@router.get("/organisations", summary="Organisations")
def organisations(ctx: HubContext = Depends(get_context)) -> list[dict]:
    from sqlmodel import select

    from hub.db.models import Organisation

    with session_scope(ctx.engine) as s:
        return plain([o.model_dump(exclude={"attributes"}) for o in
                      s.exec(select(Organisation).order_by(Organisation.id)).all()])


@router.post("/organisations", status_code=201, summary="Create an organisation")
def create_organisation(body: OrganisationIn, ctx: HubContext = Depends(get_context)) -> dict:
    from hub.billing.catalogue import create_organisation as create

    with session_scope(ctx.engine) as s:
        org = create(s, **body.model_dump())
        return plain(org.model_dump(exclude={"attributes"}))


@router.get("/invoices", summary="Invoices, newest first")
def invoices(organisation_id: Optional[int] = None, status: Optional[str] = None,
             limit: int = Query(50, le=500), ctx: HubContext = Depends(get_context)) -> list[dict]:
    from hub.billing.views import list_invoices
    from hub.ledger import run_overdue_check

    run_overdue_check(ctx)  # overdue statuses as of today, as the account view shows them
    with session_scope(ctx.engine) as s:
        return plain(list_invoices(s, organisation_id=organisation_id, status=status,
                                   limit=limit))


@router.get("/invoices/{invoice_id:int}", summary="An invoice with its lines")
def invoice(invoice_id: int, ctx: HubContext = Depends(get_context)) -> dict:
    from hub.billing.views import invoice_view

    with session_scope(ctx.engine) as s:
        return plain(invoice_view(s, invoice_id))


@router.post("/invoices", status_code=201, summary="A draft one-time or proforma invoice")
def create_invoice(body: InvoiceIn, ctx: HubContext = Depends(get_context)) -> dict:
    from hub.billing.invoices import create_invoice as create
    from hub.billing.views import invoice_view

    with session_scope(ctx.engine) as s:
        made = create(ctx, s, body.organisation_id, issue_date=body.issue_date,
                      proforma=body.proforma, note=body.note)
        return plain(invoice_view(s, made.id))


@router.post("/invoices/{invoice_id:int}/lines", status_code=201, summary="Add a line")
def add_line(invoice_id: int, body: LineIn, ctx: HubContext = Depends(get_context)) -> dict:
    from hub.billing.invoices import add_line as add
    from hub.billing.views import invoice_view

    with session_scope(ctx.engine) as s:
        add(s, invoice_id, **body.model_dump())
        return plain(invoice_view(s, invoice_id))


@router.post("/invoices/{invoice_id:int}/finalise", summary="Finalise a one-time draft")
def finalise(invoice_id: int, ctx: HubContext = Depends(get_context)) -> dict:
    from hub.billing.invoices import finalise as final
    from hub.billing.views import invoice_view

    with session_scope(ctx.engine) as s:
        final(ctx, s, invoice_id)
        return plain(invoice_view(s, invoice_id))


@router.post("/invoices/{invoice_id:int}/convert", summary="Convert a proforma to an invoice")
def convert(invoice_id: int, ctx: HubContext = Depends(get_context)) -> dict:
    from hub.billing.invoices import convert_proforma
    from hub.billing.views import invoice_view

    with session_scope(ctx.engine) as s:
        made = convert_proforma(ctx, s, invoice_id)
        return plain(invoice_view(s, made.id))


@router.post("/tickets/{ticket_id:int}/invoice", status_code=201,
             summary="A draft invoice from a ticket's charges")
def invoice_ticket(ticket_id: int, ctx: HubContext = Depends(get_context)) -> dict:
    from hub.billing.invoices import invoice_from_ticket
    from hub.billing.views import invoice_view

    with session_scope(ctx.engine) as s:
        made = invoice_from_ticket(ctx, s, ticket_id)
        return plain(invoice_view(s, made.id))


@router.get("/batches", summary="Billing batches, newest first")
def batches(ctx: HubContext = Depends(get_context)) -> list[dict]:
    from hub.billing.views import list_batches

    with session_scope(ctx.engine) as s:
        return plain(list_batches(s))


@router.post("/batches", status_code=201, summary="Preview a billing run (draft invoices)")
def preview_batch(body: PreviewIn, limit: int = Query(100, le=1000),
                  ctx: HubContext = Depends(get_context)) -> dict:
    from hub.billing import preview
    from hub.billing.views import batch_view

    summary = preview(ctx, body.run_date)
    with session_scope(ctx.engine) as s:
        return plain(batch_view(s, summary.batch_id, limit=limit))


@router.get("/batches/{batch_id:int}", summary="A batch: invoices, lines, changes and causes")
def batch(batch_id: int, limit: int = Query(100, le=1000),
          ctx: HubContext = Depends(get_context)) -> dict:
    from hub.billing.views import batch_view

    with session_scope(ctx.engine) as s:
        return plain(batch_view(s, batch_id, limit=limit))


@router.post("/batches/{batch_id:int}/confirm", summary="Finalise a preview batch")
def confirm_batch(batch_id: int, ctx: HubContext = Depends(get_context)) -> dict:
    from hub.billing import confirm

    summary = confirm(ctx, batch_id)
    return plain({"id": summary.batch_id, "status": summary.status,
                  "invoices": summary.invoices, "run_date": summary.run_date})


@router.post("/batches/{batch_id:int}/discard", summary="Discard a preview batch")
def discard_batch(batch_id: int, ctx: HubContext = Depends(get_context)) -> dict:
    from hub.billing import discard

    summary = discard(ctx, batch_id)
    return plain({"id": summary.batch_id, "status": summary.status})


@router.post("/contracts/{contract_id:int}/invoice",
             summary="Invoice one billing contract's cycle")
def invoice_contract(contract_id: int, body: ContractInvoiceIn,
                     ctx: HubContext = Depends(get_context)) -> dict:
    from hub.billing.contracts import invoice_contract as make
    from hub.billing.views import invoice_view

    done = make(ctx, contract_id, cycle=body.cycle, replace=body.replace,
                post_tasks=body.post_tasks, preview=body.preview)
    result = {"contract_id": contract_id, "cycle": done.cycle_number, "preview": done.preview,
              "replaces_invoice_id": done.replaced_invoice_id}
    if done.preview:
        result["invoice"] = {k: getattr(done.invoice, k) for k in
                             ("period_start", "period_end", "subtotal", "tax_total", "total",
                              "currency")}
    else:
        with session_scope(ctx.engine) as s:
            result["invoice"] = invoice_view(s, done.invoice.id)
    return plain(result)
