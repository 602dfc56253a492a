"""Customer documents over HTTP: invoice, credit note and statement PDFs, the sends of an
invoice, and asking for an invoice to be sent (a retried job; it takes an ``Idempotency-Key``,
:mod:`hub.web.idempotency`, so a repeated request queues one email)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal, Optional

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from hub.host.context import HubContext
from hub.db.engine import session_scope
from hub.validation.fields import Day, Email
from hub.web.deps import RowId, get_context, require_token
from hub.web.idempotency import Keyed

__all__ = ["router"]

router = APIRouter(tags=["documents"], dependencies=[Depends(require_token)])


def _pdf_response(document, download: bool) -> Response:
    disposition = "attachment" if download else "inline"
    header = f'{disposition}; filename="{document.filename}"'
    return Response(content=document.pdf, media_type="application/pdf",
                    headers={"Content-Disposition": header})


def _renderer(ctx: HubContext):
    from hub.customer_docs import DocumentRenderer

    return DocumentRenderer(ctx.settings, today=ctx.today)


@router.get("/invoices/{invoice_id:int}.pdf", summary="An invoice as PDF",
            response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}})
def invoice_pdf(invoice_id: RowId, download: bool = Query(False, description="save, not view"),
                ctx: HubContext = Depends(get_context)) -> Response:
    """The invoice rendered with the configured template, company details and locale."""
    with session_scope(ctx.engine) as session:
        document = _renderer(ctx).invoice(session, invoice_id)
    return _pdf_response(document, download)


@router.get("/credit-notes/{credit_note_id:int}.pdf", summary="A credit note as PDF",
            response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}})
def credit_note_pdf(credit_note_id: RowId, download: bool = Query(False),
                    ctx: HubContext = Depends(get_context)) -> Response:
    """The credit note rendered with the configured template."""
    with session_scope(ctx.engine) as session:
        document = _renderer(ctx).credit_note(session, credit_note_id)
    return _pdf_response(document, download)


@router.get("/organisations/{organisation_id:int}/statement.pdf",
            summary="An organisation's statement for a period as PDF", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}})
def statement_pdf(organisation_id: RowId,
                  start: Annotated[Day, Query(description="first day of the period")],
                  end: Annotated[Day, Query(description="last day of the period")],
                  mode: Literal["documents", "transactions"] = Query("documents"),
                  download: bool = Query(False),
                  ctx: HubContext = Depends(get_context)) -> Response:
    """Finance documents (with the Total invoiced figures) or transactions (with the running
    balance) dated in ``start``..``end``."""
    with session_scope(ctx.engine) as session:
        document = _renderer(ctx).statement(session, organisation_id, start, end, mode)
    return _pdf_response(document, download)


class SendOut(BaseModel):
    """One send of a document by email."""

    id: int
    document_kind: str
    document_id: int
    reference: str
    to: str
    subject: str
    status: str
    attempts: int
    error: Optional[str]
    created_at: dt.datetime
    last_attempt_at: Optional[dt.datetime]
    sent_at: Optional[dt.datetime]


def _out(row) -> SendOut:
    return SendOut(id=row.id, document_kind=row.document_kind, document_id=row.document_id,
                   reference=row.reference, to=row.to, subject=row.subject,
                   status=str(row.status), attempts=row.attempts, error=row.error,
                   created_at=row.created_at, last_attempt_at=row.last_attempt_at,
                   sent_at=row.sent_at)


@router.get("/invoices/{invoice_id:int}/sends", summary="Every email send of an invoice",
            response_model=list[SendOut])
def invoice_sends(invoice_id: RowId, ctx: HubContext = Depends(get_context)) -> list[SendOut]:
    """Newest first, with status (sent/failed), attempts and the mail server's answer; 404
    for an invoice the hub does not hold."""
    from hub.billing.catalogue import get_or_404
    from hub.customer_docs.sending import list_sends
    from hub.db.models import Invoice

    with session_scope(ctx.engine) as session:
        get_or_404(session, Invoice, invoice_id, "invoice", "find its id with `hub invoice list`")
    return [_out(row) for row in list_sends(ctx.engine, kind="invoice", document_id=invoice_id)]


class SendRequest(BaseModel):
    """Who gets the invoice; empty: the organisation's email. A misspelt field is refused,
    not ignored (the invoice would go to the default address instead)."""

    model_config = ConfigDict(extra="forbid")

    to: list[Email] = Field(default_factory=list, max_length=50)


@router.post("/invoices/{invoice_id:int}/send", status_code=202,
             summary="Send an invoice by email (a retried job)")
def send_invoice(invoice_id: RowId, once: Keyed, body: SendRequest | None = None,
                 ctx: HubContext = Depends(get_context)) -> dict:
    """Queue the send; a worker delivers it and retries failures. See ``/sends``. With no
    ``to`` and an organisation without email it is refused (422), nothing queued. A repeat
    with the same ``Idempotency-Key`` gets the first answer and queues no second email."""
    from hub.customer_docs.sending import queue_invoice_send

    to = (body.to if body else None) or None
    with session_scope(ctx.engine) as session:
        # The send is queued in the transaction that claims the key: both commit or neither.
        return once.run(session, lambda: {
            "outbox_id": queue_invoice_send(ctx.engine, invoice_id, to=to, session=session),
            "status": "queued"})
