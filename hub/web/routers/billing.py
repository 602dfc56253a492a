"""Billing over HTTP: organisations, invoices (one-time, proforma, from a ticket), billing
batches (preview → confirm/discard) and contract invoicing. Refusals are hub errors, turned
into HTTP answers by the app. Amounts are strings (exact decimals), never JSON floats. Creating
an organisation, a draft invoice or a line, and invoicing a contract's cycle, take an
``Idempotency-Key`` (:mod:`hub.web.idempotency`): a repeat gets the first answer instead of a
second record."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any, Optional

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from hub.host.context import HubContext
from hub.db.engine import session_scope
from hub.core.ledger.statuses import InvoiceStatus
from hub.validation.fields import MAX_ID, Amount, Day, Id, Integer, Note, Quantity, TaxRate
from hub.validation.records import OrganisationInput
from hub.web.amounts import json_ready
from hub.web.deps import RowId, get_context, require_token
from hub.errors import HubError, ValidationFailed
from hub.web.idempotency import REPLAYED, Keyed, Once

__all__ = ["router"]

log = logging.getLogger("hub.web")

router = APIRouter(tags=["billing"], dependencies=[Depends(require_token)])


def plain(value: Any) -> Any:
    """JSON-ready: Decimals as exact strings, dates as ISO strings, money amounts in their
    currency's minor unit (:func:`hub.web.amounts.json_ready`)."""
    return json_ready(value)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InvoiceIn(_Body):
    organisation_id: Id
    issue_date: Optional[Day] = None
    proforma: bool = False
    note: Note = ""


class LineIn(_Body):
    description: Optional[str] = None
    product_code: Optional[str] = None
    quantity: Quantity = Decimal(1)
    unit_price: Optional[Amount] = Field(None, description="decimal string, e.g. '12.50'")
    tax_rate: Optional[TaxRate] = Field(None, description="percentage, e.g. '20'")


class PreviewIn(_Body):
    run_date: Day = Field(description="the billing date; may be in the future")


class ContractInvoiceIn(_Body):
    cycle: Optional[Integer] = Field(None, ge=1, le=10000,
                                 description="default: the next un-invoiced cycle")
    replace: bool = False
    post_tasks: bool = False
    preview: bool = False


class ContractsInvoiceIn(_Body):
    contracts: list[Id] = Field(..., min_length=1, description="billing contract ids")
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
def create_organisation(body: OrganisationInput, once: Keyed,
                        ctx: HubContext = Depends(get_context)) -> dict:
    """``currency`` defaults to the company's (``[company] currency`` in hub.toml). A repeat
    without a key is refused (the name is taken); with the key it gets the first answer."""
    from hub.billing.catalogue import create_organisation as create

    with session_scope(ctx.engine) as s:
        def created() -> dict:
            org = create(s, **body.model_dump(), default_currency=ctx.settings.company.currency)
            return plain(org.model_dump(exclude={"attributes"}))
        return once.run(s, created)


@router.get("/invoices", summary="Invoices, newest first")
def invoices(organisation_id: Optional[int] = Query(None, ge=1, le=MAX_ID),
             status: Optional[InvoiceStatus] = None, limit: int = Query(50, ge=1, le=500),
             offset: int = Query(0, ge=0, le=MAX_ID),
             ctx: HubContext = Depends(get_context)) -> list[dict]:
    from hub.billing.views import list_invoices
    from hub.ledger import run_overdue_check

    run_overdue_check(ctx)  # overdue statuses as of today, as the account view shows them
    with session_scope(ctx.engine) as s:
        return plain(list_invoices(s, organisation_id=organisation_id,
                                   status=status.value if status else None, limit=limit,
                                   offset=offset))


@router.get("/invoices/{invoice_id:int}", summary="An invoice with its lines")
def invoice(invoice_id: RowId, ctx: HubContext = Depends(get_context)) -> dict:
    from hub.billing.views import invoice_view

    with session_scope(ctx.engine) as s:
        return plain(invoice_view(s, invoice_id))


@router.post("/invoices", status_code=201, summary="A draft one-time or proforma invoice")
def create_invoice(body: InvoiceIn, once: Keyed, ctx: HubContext = Depends(get_context)) -> dict:
    """A new draft, without lines (add them with ``POST /invoices/{id}/lines``)."""
    from hub.billing.invoices import create_invoice as create
    from hub.billing.views import invoice_view

    with session_scope(ctx.engine) as s:
        return once.run(s, lambda: plain(invoice_view(s, create(
            ctx, s, body.organisation_id, issue_date=body.issue_date, proforma=body.proforma,
            note=body.note).id)))


@router.post("/invoices/{invoice_id:int}/lines", status_code=201, summary="Add a line")
def add_line(invoice_id: RowId, body: LineIn, once: Keyed,
             ctx: HubContext = Depends(get_context)) -> dict:
    """A manual item or a catalogue product on a draft; the answer is the whole invoice."""
    from hub.billing.invoices import add_line as add
    from hub.billing.views import invoice_view

    with session_scope(ctx.engine) as s:
        def added() -> dict:
            add(s, invoice_id, **body.model_dump())
            return plain(invoice_view(s, invoice_id))
        return once.run(s, added)


@router.post("/invoices/{invoice_id:int}/finalise", summary="Finalise a one-time draft")
def finalise(invoice_id: RowId, ctx: HubContext = Depends(get_context)) -> dict:
    from hub.billing.invoices import finalise as final
    from hub.billing.views import invoice_view

    with session_scope(ctx.engine) as s:
        final(ctx, s, invoice_id)
        return plain(invoice_view(s, invoice_id))


@router.post("/invoices/{invoice_id:int}/convert", summary="Convert a proforma to an invoice")
def convert(invoice_id: RowId, once: Keyed, ctx: HubContext = Depends(get_context)) -> dict:
    """The proforma's invoice. A repeat without a key is refused (it is converted); with the
    key it gets the first answer."""
    from hub.billing.invoices import convert_proforma
    from hub.billing.views import invoice_view

    with session_scope(ctx.engine) as s:
        return once.run(s, lambda: plain(invoice_view(
            s, convert_proforma(ctx, s, invoice_id).id)))


@router.post("/tickets/{ticket_id:int}/invoice", status_code=201,
             summary="A draft invoice from a ticket's charges")
def invoice_ticket(ticket_id: RowId, once: Keyed,
                   ctx: HubContext = Depends(get_context)) -> dict:
    """A draft of the ticket's pending charges. A repeat without a key is refused (nothing is
    pending any more); with the key it gets the first answer."""
    from hub.billing.invoices import invoice_from_ticket
    from hub.billing.views import invoice_view

    with session_scope(ctx.engine) as s:
        return once.run(s, lambda: plain(invoice_view(
            s, invoice_from_ticket(ctx, s, ticket_id).id)))


@router.get("/batches", summary="Billing batches, newest first")
def batches(ctx: HubContext = Depends(get_context)) -> list[dict]:
    from hub.billing.views import list_batches

    with session_scope(ctx.engine) as s:
        return plain(list_batches(s))


@router.post("/batches", status_code=201, summary="Preview a billing run (draft invoices)")
def preview_batch(body: PreviewIn, limit: int = Query(100, ge=1, le=1000),
                  ctx: HubContext = Depends(get_context)) -> dict:
    from hub.billing import preview
    from hub.billing.views import batch_view

    summary = preview(ctx, body.run_date)
    if summary.batch_id is None:
        return plain({"id": None, "run_date": body.run_date, "status": summary.status,
                      "invoice_count": 0, "notes": summary.notes, "left_out": [],
                      "invoices": []})
    with session_scope(ctx.engine) as s:
        return plain(batch_view(s, summary.batch_id, limit=limit))


@router.get("/batches/{batch_id:int}", summary="A batch: invoices, lines, changes and causes")
def batch(batch_id: RowId, limit: int = Query(100, ge=1, le=1000),
          ctx: HubContext = Depends(get_context)) -> dict:
    from hub.billing.views import batch_view

    with session_scope(ctx.engine) as s:
        return plain(batch_view(s, batch_id, limit=limit))


@router.post("/batches/{batch_id:int}/confirm", summary="Finalise a preview batch")
def confirm_batch(batch_id: RowId, ctx: HubContext = Depends(get_context)) -> dict:
    from hub.billing import confirm

    summary = confirm(ctx, batch_id)
    return plain({"id": summary.batch_id, "status": summary.status,
                  "invoices": summary.invoices, "run_date": summary.run_date})


@router.post("/batches/{batch_id:int}/discard", summary="Discard a preview batch")
def discard_batch(batch_id: RowId, ctx: HubContext = Depends(get_context)) -> dict:
    from hub.billing import discard

    summary = discard(ctx, batch_id)
    return plain({"id": summary.batch_id, "status": summary.status})


@router.post("/contracts/{contract_id:int}/invoice",
             summary="Invoice one billing contract's cycle")
def invoice_contract(contract_id: RowId, body: ContractInvoiceIn, once: Keyed,
                     ctx: HubContext = Depends(get_context)) -> dict:
    """The cycle's final invoice (the next un-invoiced cycle unless ``cycle`` is given), or
    with ``preview`` what it would be. A repeat without a key invoices the *next* cycle (or,
    naming the cycle, is refused: it is invoiced); with the key it gets the first answer and
    invoices nothing more."""
    from hub.billing.contracts import (
        draft_contract_invoice, previewed, store_contract_invoice,
    )
    from hub.billing.views import invoice_view

    earlier = _answered(ctx, once)
    if earlier is not None:
        return earlier
    try:
        draft = draft_contract_invoice(ctx, contract_id, cycle=body.cycle, replace=body.replace)
    except HubError:
        # A repeat sent while the first request was storing: the cycle is invoiced now, and
        # the first answer is the one to give
        earlier = _answered(ctx, once)
        if earlier is not None:
            return earlier
        raise
    if body.preview:
        done = previewed(draft)
        invoice = {k: getattr(done.invoice, k) for k in
                   ("period_start", "period_end", "subtotal", "tax_total", "total",
                    "currency")}
        invoice["lines"] = done.lines  # the components (seed 004's preview)
        return plain(_contract_answer(done, invoice))

    def store() -> dict:
        done = store_contract_invoice(ctx, s, draft, post_tasks=body.post_tasks)
        return plain(_contract_answer(done, invoice_view(s, done.invoice.id)))

    # the key is stored in the transaction that stores the invoice: both or neither
    with session_scope(ctx.engine) as s:
        return once.run(s, store)


def _answered(ctx: HubContext, once: Once) -> JSONResponse | None:
    """The key's first answer to this request, to send again (None: no key, or no answer
    stored yet); takes nothing."""
    if once.key is None:
        return None
    with session_scope(ctx.engine) as s:
        return once.answered(s)


def _contract_answer(done, invoice: dict) -> dict:
    return {"contract_id": done.contract_id, "cycle": done.cycle_number,
            "preview": done.preview, "replaces_invoice_id": done.replaced_invoice_id,
            "invoice": invoice}


@router.post("/contracts/invoice-many",
             summary="Invoice many contracts' next cycles, each contract on its own")
def invoice_contracts(body: ContractsInvoiceIn, once: Keyed,
                      ctx: HubContext = Depends(get_context)) -> dict:
    """Per contract, not all-or-nothing: every contract's outcome is listed (its invoice, or
    the error that kept it from being invoiced); ``failed`` counts the latter.

    With an ``Idempotency-Key`` each contract's outcome is stored with its invoice, in its
    transaction: the request sent again answers the contracts invoiced the first time with
    their first outcome (without the key each would be invoiced for its next cycle) and tries
    the others again. The answer says ``Idempotent-Replayed`` when every outcome in it is one
    stored the first time."""
    from hub.billing.contracts import ContractInvoiced, invoice_many

    if once.key is not None:
        with session_scope(ctx.engine) as s:
            # a key used for another request is refused whole, before any work (a
            # contract's own part of it could only be taken by another request sent with
            # the key at this same moment: that contract's outcome is then the refusal)
            once.earlier(s)
    if body.preview:
        outcomes = invoice_many(ctx, body.contracts, preview=True)
        return plain({"preview": True, "outcomes": [_many_row(done) for done in outcomes],
                      "failed": sum(1 for d in outcomes if not d.ok)})
    rows, replayed = [], []
    for contract_id in dict.fromkeys(body.contracts):  # a contract named twice: once
        try:
            row, again = _invoice_one(ctx, contract_id, body.post_tasks,
                                      once.part(f"contract {contract_id}"))
        except HubError as exc:  # the message and its hint; nothing of it was stored
            row, again = _many_row(ContractInvoiced(contract_id, None, None, None, False,
                                                    error=str(exc))), False
        rows.append(row)
        replayed.append(again)
    answer = plain({"preview": False, "outcomes": rows,
                    "failed": sum(1 for r in rows if not r["invoiced"])})
    if once.key is None:
        return answer
    # The key itself is this request's from now on (another request with it is refused).
    # What it keeps is a summary, never replayed: each contract's own outcome is.
    try:
        with session_scope(ctx.engine) as s:
            once.outcome(s, lambda: {"contracts": len(rows), "failed": answer["failed"]})
    except ValidationFailed as refused:
        # Another request sent with this key at the same moment took it first. This one's
        # invoices are made and stored under their own parts of the key: say what was done.
        log.warning("invoice-many: %s; the outcomes are answered all the same", refused)
    return JSONResponse(answer, headers=REPLAYED) if all(replayed) else answer


def _invoice_one(ctx: HubContext, contract_id: int, post_tasks: bool, once: Once
                 ) -> tuple[dict, bool]:
    """One contract's outcome row of ``/contracts/invoice-many``, and whether it is the one
    stored with ``once`` (its part of the request's key) by an earlier request. The contract
    is invoiced as :func:`~hub.billing.contracts.invoice_many` does, in two steps so that its
    part of the key is stored in the transaction that stores its invoice."""
    from hub.billing.contracts import draft_contract_invoice, store_contract_invoice

    if once.key is not None:
        with session_scope(ctx.engine) as s:
            earlier = once.earlier(s)
        if earlier is not None:
            return earlier.response, True
    draft = draft_contract_invoice(ctx, contract_id)
    with session_scope(ctx.engine) as s:
        return once.outcome(s, lambda: plain(_many_row(
            store_contract_invoice(ctx, s, draft, post_tasks=post_tasks), s)))


def _many_row(done, session: Session | None = None) -> dict:
    """One contract's outcome in ``/contracts/invoice-many``: a stored invoice is shown whole
    (read in ``session``), a preview's in brief with its components."""
    from hub.billing.views import invoice_view

    row: dict[str, Any] = {"contract_id": done.contract_id, "cycle": done.cycle_number,
                           "invoiced": done.ok and not done.preview, "error": done.error}
    if done.ok and done.preview:
        inv = done.invoice
        row["invoice"] = {"period_start": inv.period_start, "period_end": inv.period_end,
                          "total": inv.total, "currency": inv.currency, "lines": done.lines}
    elif done.ok:
        row["invoice"] = invoice_view(session, done.invoice.id)
    return row
