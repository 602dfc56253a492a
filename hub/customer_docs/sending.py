"""Send an invoice, credit note or statement to the customer by email, and record the send.

Each send is one :class:`~hub.db.models.sends.DocumentSend` row, keyed by
``(document kind, document id, request key)``:

- the post-invoicing "send" job calls :func:`send_invoice` with request key ``auto`` (or the
  outbox payload's ``request``); a retry of that job updates the same row (``attempts`` goes
  up), and a run after the mail went out finds the row ``sent`` and sends nothing twice;
- an on-demand send (``hub send invoice ID``) uses a fresh key, so it always sends.

A failure to deliver records the row as ``failed`` with the server's answer and raises
:class:`hub.errors.TransientError`, which the job runtime retries with backoff; when it gives
up the row stays ``failed`` and ``hub send list --failed`` reports it. A problem no retry can
fix (draft or deleted invoice, no recipient, a broken template) is recorded the same way and
raised as :class:`hub.errors.PermanentError`, which stops the job at once.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from hub.db.engine import session_scope
from hub.db.models.catalogue import Organisation
from hub.db.models.invoices import Invoice, InvoiceStatus
from hub.db.models.ledger import CreditNote
from hub.db.models.sends import DocumentSend, SendStatus
from hub.db.models.sync import Effect, OutboxEntry
from hub.customer_docs.render import DocumentRenderer, MailText, RenderedDocument
from hub.errors import (
    EditNotAllowed, HubError, NotFound, PermanentError, TransientError, ValidationFailed,
)
from hub.customer_docs.mailer import Attachment, Mailer, parse_recipients

if TYPE_CHECKING:
    from hub.host.context import HubContext

__all__ = ["AUTO_REQUEST", "SEND_CONNECTION", "send_invoice", "send_document",
           "queue_invoice_send", "send_credit_note", "send_statement", "list_sends",
           "sends_summary", "new_request_key", "SendOutcome"]

#: Request key of the post-invoicing send (one per invoice unless the payload names another).
AUTO_REQUEST = "auto"
#: Outbox connection of effects the hub performs itself (billing writes its send rows so too).
SEND_CONNECTION = "hub"


@dataclass(frozen=True)
class SendOutcome:
    """A send's record and whether this call actually sent mail (False: it was already sent)."""

    record: DocumentSend
    delivered_now: bool


def new_request_key(prefix: str = "manual") -> str:
    """A fresh request key: an on-demand send that must not be mistaken for an earlier one."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def _now(ctx: "HubContext") -> dt.datetime:
    return ctx.clock()


def _mailer(ctx: "HubContext") -> Mailer:
    mail = ctx.settings.mail
    # Only touch the installation key when a secret is actually encrypted with it.
    box = ctx.secret_box if mail.password and "encrypted" in mail.password else None
    return Mailer.from_settings(mail, box, sender_name=ctx.settings.company.name)


def _sent_already(engine: Engine, kind: str, document_id: int,
                  request_key: str) -> DocumentSend | None:
    with session_scope(engine) as session:
        return session.execute(select(DocumentSend).where(
            DocumentSend.document_kind == kind, DocumentSend.document_id == document_id,
            DocumentSend.request_key == request_key,
            DocumentSend.status == SendStatus.sent)).scalar_one_or_none()


def _claim(engine: Engine, kind: str, document_id: int, request_key: str, *, reference: str,
           to: str, subject: str, now: dt.datetime) -> DocumentSend | None:
    """Count one more attempt on the send's row (creating it); None when it was already sent."""
    for _ in range(2):  # a concurrent first attempt may create the row between our two steps
        try:
            with session_scope(engine) as session:
                row = session.execute(select(DocumentSend).where(
                    DocumentSend.document_kind == kind, DocumentSend.document_id == document_id,
                    DocumentSend.request_key == request_key)).scalar_one_or_none()
                if row is None:
                    row = DocumentSend(document_kind=kind, document_id=document_id,
                                       request_key=request_key, to=to, created_at=now)
                elif row.status == SendStatus.sent:
                    return None
                row.reference, row.to, row.subject = reference, to, subject
                row.attempts += 1
                row.last_attempt_at = now
                session.add(row)
                session.flush()
                return row
        except IntegrityError:
            continue
    raise TransientError(f"the send record of {kind} {document_id} is being written by another "
                         "job", hint="the send is retried")


def _settle(engine: Engine, row_id: int, *, status: SendStatus, now: dt.datetime,
            error: str | None = None, message_id: str | None = None) -> DocumentSend:
    with session_scope(engine) as session:
        row = session.get(DocumentSend, row_id)
        row.status = status
        row.error = error
        if message_id:
            row.message_id = message_id
        if status == SendStatus.sent:
            row.sent_at = now
        session.add(row)
        return row


def _deliver(ctx: "HubContext", *, kind: str, document_id: int, request_key: str,
             reference: str,
             prepare: Callable[[Session, DocumentRenderer], tuple[RenderedDocument, list[str]]],
             ) -> SendOutcome:
    """Render (in a read-only session), claim the send row, hand the mail over, record it."""
    now = _now(ctx)
    done = _sent_already(ctx.engine, kind, document_id, request_key)
    if done is not None:  # a job run again after the mail went out: nothing to do
        return SendOutcome(done, delivered_now=False)
    renderer = DocumentRenderer(ctx.settings, today=ctx.today)
    try:
        with session_scope(ctx.engine) as session:
            document, recipients = prepare(session, renderer)
        text: MailText = renderer.mail_text(document)
        mailer = _mailer(ctx)
        message = mailer.build_message(recipients, text.subject, text.body,
                                       [Attachment(document.filename, document.pdf)])
    except TransientError:
        raise
    except HubError as exc:
        # Nothing a retry can fix: record it on the document and stop the job.
        row = _claim(ctx.engine, kind, document_id, request_key, reference=reference, to="",
                     subject="", now=now)
        if row is not None:
            _settle(ctx.engine, row.id, status=SendStatus.failed, now=now,
                    error=exc.user_message())
        raise PermanentError(f"cannot send {kind.replace('_', ' ')} {reference}: {exc}",
                             hint=exc.hint) from exc
    row = _claim(ctx.engine, kind, document_id, request_key, reference=document.reference,
                 to=", ".join(recipients), subject=text.subject, now=now)
    if row is None:  # sent by a concurrent run of the same job while we rendered
        return SendOutcome(_sent_already(ctx.engine, kind, document_id, request_key),
                           delivered_now=False)
    try:
        result = mailer.send(message)
    except TransientError as exc:
        _settle(ctx.engine, row.id, status=SendStatus.failed, now=now, error=str(exc))
        raise
    note = None
    if result.refused:
        note = "refused by the server: " + "; ".join(f"{a} ({why})"
                                                     for a, why in result.refused.items())
    record = _settle(ctx.engine, row.id, status=SendStatus.sent, now=now, error=note,
                     message_id=result.message_id)
    return SendOutcome(record, delivered_now=True)


def _set_email(organisation: Organisation | None) -> str:
    """How to give the organisation an email address, naming it where it is known."""
    org = organisation.id if organisation is not None and organisation.id else "ORG"
    return f"set the organisation's email with `hub org edit {org} --email ADDRESS`"


def _recipients(explicit: str | Iterable[str] | None, organisation: Organisation | None,
                what: str, *, give: str = "pass --to ADDRESS") -> list[str]:
    """The addresses to send to: ``explicit`` ones, else the organisation's; a send with
    neither is a :class:`PermanentError` whose hint says ``give`` (how this caller takes
    addresses) or how to set the organisation's email."""
    recipients = (parse_recipients(explicit)
                  or parse_recipients(organisation.email if organisation else None))
    if not recipients:
        raise PermanentError(f"{what} has no recipient: the organisation has no email",
                             hint=f"{give}, or {_set_email(organisation)}")
    return recipients


def send_invoice(ctx: "HubContext", invoice_id: int,
                 payload: dict[str, Any] | None = None) -> SendOutcome:
    """Email invoice ``invoice_id`` with its PDF to the customer (the job runtime's document
    sender: ``hub.customer_docs.sending.send_invoice(ctx, invoice_id, payload)``).

    ``payload`` (the outbox row's) may hold ``to`` (address or list; default the
    organisation's email) and ``request`` (the request key; default ``auto``).
    """
    payload = dict(payload or {})
    request_key = str(payload.get("request") or AUTO_REQUEST)

    def prepare(session: Session,
                renderer: DocumentRenderer) -> tuple[RenderedDocument, list[str]]:
        invoice = session.get(Invoice, invoice_id)
        if invoice is None:
            raise PermanentError(f"invoice {invoice_id} does not exist")
        refusal = unsendable(invoice)
        if refusal is not None:
            raise PermanentError(refusal[0], hint=refusal[1])
        organisation = session.get(Organisation, invoice.organisation_id)
        recipients = _recipients(payload.get("to"), organisation, f"invoice {invoice.number}")
        return renderer.invoice(session, invoice_id), recipients

    return _deliver(ctx, kind="invoice", document_id=invoice_id, request_key=request_key,
                    reference=f"#{invoice_id}", prepare=prepare)


def send_credit_note(ctx: "HubContext", credit_note_id: int, *,
                     to: str | Iterable[str] | None = None,
                     request_key: str | None = None) -> SendOutcome:
    """Email credit note ``credit_note_id`` with its PDF to the customer."""

    def prepare(session: Session,
                renderer: DocumentRenderer) -> tuple[RenderedDocument, list[str]]:
        note = session.get(CreditNote, credit_note_id)
        if note is None:
            raise PermanentError(f"credit note {credit_note_id} does not exist")
        organisation = session.get(Organisation, note.organisation_id)
        recipients = _recipients(to, organisation, f"credit note {note.number}")
        return renderer.credit_note(session, credit_note_id), recipients

    return _deliver(ctx, kind="credit_note", document_id=credit_note_id,
                    request_key=request_key or new_request_key(),
                    reference=f"#{credit_note_id}", prepare=prepare)


def send_statement(ctx: "HubContext", organisation_id: int, start: dt.date, end: dt.date,
                   mode: str = "documents", *, to: str | Iterable[str] | None = None,
                   request_key: str | None = None) -> SendOutcome:
    """Email the statement of ``organisation_id`` for ``start``..``end`` to the customer.

    The default request key names the period and mode, so asking twice for the same statement
    (e.g. a scheduled monthly statement job run again) sends it once.
    """

    def prepare(session: Session,
                renderer: DocumentRenderer) -> tuple[RenderedDocument, list[str]]:
        organisation = session.get(Organisation, organisation_id)
        if organisation is None:
            raise PermanentError(f"organisation {organisation_id} does not exist")
        # `hub send statement` takes recipients with --email: its --to is the period's end.
        recipients = _recipients(to, organisation, f"the statement of {organisation.name}",
                                 give="pass --email ADDRESS")
        return renderer.statement(session, organisation_id, start, end, mode), recipients

    key = request_key or f"statement-{start.isoformat()}-{end.isoformat()}-{mode}"
    return _deliver(ctx, kind="statement", document_id=organisation_id, request_key=key,
                    reference=f"{start.isoformat()}..{end.isoformat()} {mode}", prepare=prepare)


def send_document(ctx: "HubContext", kind: str, document_id: int,
                  payload: dict[str, Any] | None = None) -> SendOutcome:
    """Send the document of an outbox row with effect ``send``, whatever its kind: ``invoice``
    (see :func:`send_invoice`) or ``credit_note`` (``payload`` may hold ``to`` and
    ``request``). The runtime can dispatch every send row here by its ``document_kind``."""
    payload = dict(payload or {})
    if kind == "invoice":
        return send_invoice(ctx, document_id, payload)
    if kind == "credit_note":
        return send_credit_note(ctx, document_id, to=payload.get("to"),
                                request_key=str(payload.get("request") or AUTO_REQUEST))
    raise PermanentError(f"cannot send documents of kind {kind!r}",
                         hint="send invoices and credit notes; statements with "
                              "`hub send statement`")


def unsendable(invoice: Invoice) -> tuple[str, str] | None:
    """Why ``invoice`` is not sent to the customer (message, hint), or None: drafts and
    deleted invoices are not."""
    if invoice.status == InvoiceStatus.draft or not invoice.number:
        return (f"invoice {invoice.id} is a draft",
                "finalise it (or confirm its preview batch) first; drafts are never sent")
    if invoice.status == InvoiceStatus.deleted:
        return (f"invoice {invoice.number} is deleted",
                "deleted invoices are not sent; send its credit note")
    return None


#: How a queued send takes its addresses: ``to`` in the API's body and the admin's form,
#: ``--to`` on the command line.
_GIVE_TO = "give `to` (the API's and the admin's field) or `--to ADDRESS` (`hub send invoice`)"


def queue_invoice_send(engine: Engine | None, invoice_id: int, *,
                       to: str | Iterable[str] | None = None,
                       session: Session | None = None) -> int:
    """Ask the job runtime to send invoice ``invoice_id`` (retried on failure, recorded like
    every send): an outbox row with effect ``send`` and a fresh request key, one generation
    above the last. Returns the outbox row id. An invoice that would not be sent (a draft, a
    deleted one), an address that is none, or no address at all (no ``to`` and an
    organisation without email) is refused now (:class:`ValidationFailed`,
    :class:`EditNotAllowed`), not left for the worker to fail.

    The row is written in ``session`` when given — the caller's transaction, e.g. the one an
    API request claims its ``Idempotency-Key`` in, so that the key and the queued send commit
    together or not at all — else in a transaction of its own on ``engine``."""
    try:
        recipients = parse_recipients(to)
    except PermanentError as exc:
        raise ValidationFailed(str(exc), hint=exc.hint) from None
    payload: dict[str, Any] = {"request": new_request_key("queued")}
    if recipients:
        payload["to"] = recipients
    if session is not None:
        return _queue_invoice_send(session, invoice_id, payload)
    with session_scope(engine) as own:
        return _queue_invoice_send(own, invoice_id, payload)


def _queue_invoice_send(session: Session, invoice_id: int, payload: dict[str, Any]) -> int:
    """The outbox row of :func:`queue_invoice_send`, in ``session``; its id."""
    invoice = session.get(Invoice, invoice_id)
    if invoice is None:
        raise NotFound(f"invoice {invoice_id} does not exist",
                       hint="find its id with `hub invoice list`")
    refusal = unsendable(invoice)
    if refusal is not None:
        raise EditNotAllowed(refusal[0], hint=refusal[1])
    # The worker would find no address (send_invoice's prepare): refuse it while the caller
    # can still give one, rather than queue a job that can only fail.
    try:
        _recipients(payload.get("to"), session.get(Organisation, invoice.organisation_id),
                    f"invoice {invoice.number}", give=_GIVE_TO)
    except PermanentError as exc:
        raise ValidationFailed(str(exc), hint=exc.hint) from None
    last = session.execute(select(func.max(OutboxEntry.generation)).where(
        OutboxEntry.effect == Effect.send, OutboxEntry.document_kind == "invoice",
        OutboxEntry.document_id == invoice_id,
        OutboxEntry.connection == SEND_CONNECTION)).scalar()
    row = OutboxEntry(effect=Effect.send, document_kind="invoice", document_id=invoice_id,
                      connection=SEND_CONNECTION, generation=0 if last is None else last + 1,
                      payload=payload)
    session.add(row)
    session.flush()
    return row.id


def list_sends(engine: Engine, *, kind: str | None = None, document_id: int | None = None,
               failed_only: bool = False, limit: int = 100, offset: int = 0
               ) -> list[DocumentSend]:
    """Recorded sends, newest first, ``offset`` of them skipped; ``failed_only`` for the ones
    that need attention."""
    query = select(DocumentSend).order_by(DocumentSend.id.desc()).limit(limit).offset(offset)
    if kind is not None:
        query = query.where(DocumentSend.document_kind == kind)
    if document_id is not None:
        query = query.where(DocumentSend.document_id == document_id)
    if failed_only:
        query = query.where(DocumentSend.status == SendStatus.failed)
    with session_scope(engine) as session:
        return list(session.execute(query).scalars())


def sends_summary(engine: Engine) -> dict[str, int]:
    """How many sends are in each status (``{"sent": 120, "failed": 2}``), for ``hub status``."""
    with session_scope(engine) as session:
        rows = session.execute(select(DocumentSend.status, func.count())
                               .group_by(DocumentSend.status)).all()
    return {str(status): count for status, count in rows}
