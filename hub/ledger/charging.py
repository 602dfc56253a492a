"""Auto-charging stored cards and refunding processor payments, as the jobs perform them.

Charging an invoice (an outbox row with effect ``charge``):

- the idempotency key is per *dunning attempt* (``payload["attempt"]``, from 1), never per job
  run: a job that dies after the processor accepted the charge runs again with the same key and
  gets the processor's saved answer, so the card is charged once;
- a charge that succeeded (or is processing) is written to the ledger at once through
  :func:`hub.ledger.apply_payment_event`, keyed by the processor's object id, so the webhook
  that follows finds the payment and changes nothing;
- a decline schedules the next dunning attempt as a new outbox row (the plugin's ``retry_after``
  says when; ``None`` means give up); ``requires_action`` (the customer must authenticate)
  marks the invoice and fails the job with a message an admin sees in ``hub jobs list``.

Refunding (effect ``refund``, written by :func:`hub.ledger.refund_requests.request_refund`) asks
the processor and records the refund the same way, keyed by the refund's id. That id is kept on
the outbox row too, so that a request stops counting as "on its way" once its refund is in the
ledger, whether this job or the processor's webhook recorded it.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlmodel import select

from hub.core.money import Money
from hub.db.models._base import utcnow
from hub.db.models.invoices import Invoice
from hub.db.models.sync import Effect, OutboxEntry
from hub.contract.records import (
    ChargeOutcome, ChargeStatus, PaymentEvent, PaymentEventKind, RefundOutcome, RefundRequest,
)
from hub.errors import PermanentError, TransientError
from hub.ledger._base import ledger_session
from hub.ledger.events import apply_payment_event
from hub.ledger.refund_requests import REFUND_OBJECT_ID

if TYPE_CHECKING:
    from hub.host.context import HubContext

__all__ = ["charge_invoice", "refund_payment", "CHARGE_STATUS_FIELD"]

log = logging.getLogger("hub.ledger.charging")

#: ``Invoice.extra_fields`` key where the last auto-charge outcome is kept for people to see.
CHARGE_STATUS_FIELD = "auto_charge"


def _dunning_attempt(row: OutboxEntry) -> int:
    return int(row.payload.get("attempt", 1))


def charge_invoice(ctx: "HubContext", row: OutboxEntry) -> ChargeOutcome:
    """Charge the invoice of outbox ``row`` to its organisation's default stored card."""
    from hub.ledger.payment_profiles import charge_request

    attempt = _dunning_attempt(row)
    with ledger_session(ctx) as session:
        request = charge_request(session, row.document_id, attempt, ctx.today())
    connection = ctx.connection(row.connection)
    outcome = ctx.plugins.hook.hub_charge_payment_method(connection=connection, charge=request)
    if outcome is None:
        raise PermanentError(f"no plugin charges payments for connection {row.connection!r}",
                             hint="check the connection's plugin in hub.toml")
    if outcome.status == ChargeStatus.retry:
        raise TransientError(outcome.message or "the processor asked to retry",
                             retry_after=outcome.retry_after)

    with ledger_session(ctx) as session:
        invoice = session.get(Invoice, row.document_id)
        invoice.extra_fields = {**invoice.extra_fields, CHARGE_STATUS_FIELD: {
            "status": outcome.status.value, "attempt": attempt, "object_id": outcome.object_id,
            "message": outcome.message}}
        session.add(invoice)
        if outcome.status in (ChargeStatus.succeeded, ChargeStatus.processing):
            kind = (PaymentEventKind.payment_succeeded if outcome.status == ChargeStatus.succeeded
                    else PaymentEventKind.payment_processing)
            apply_payment_event(session, row.connection, PaymentEvent(
                event_id=f"charge:{outcome.object_id}:{outcome.status.value}", kind=kind,
                object_id=outcome.object_id, occurred_at=ctx.clock(), invoice_id=invoice.id,
                organisation_id=invoice.organisation_id, amount=request.amount))
        elif outcome.status == ChargeStatus.declined and outcome.retry_after is not None:
            # The dispatcher compares availability with the wall clock, as for every row.
            _schedule_next_attempt(session, row, attempt + 1,
                                   utcnow() + dt.timedelta(seconds=outcome.retry_after))
    if outcome.status == ChargeStatus.requires_action:
        log.warning("invoice %s needs the customer to authenticate the charge",
                    request.invoice_number, extra={"document_id": row.document_id,
                                                   "connection": row.connection})
        return ChargeOutcome(status=outcome.status, object_id=outcome.object_id,
                             message=f"invoice {request.invoice_number}: the card needs the "
                                     "customer to authenticate (SCA); send them the payment link")
    return outcome


def _schedule_next_attempt(session, row: OutboxEntry, attempt: int, when: dt.datetime) -> None:
    """A new charge row for the next dunning attempt (a new idempotency key)."""
    generations = session.exec(select(OutboxEntry.generation).where(
        OutboxEntry.effect == Effect.charge, OutboxEntry.document_kind == row.document_kind,
        OutboxEntry.document_id == row.document_id, OutboxEntry.connection == row.connection)).all()
    session.add(OutboxEntry(effect=Effect.charge, document_kind=row.document_kind,
                            document_id=row.document_id, connection=row.connection,
                            generation=max(generations, default=0) + 1,
                            payload={**row.payload, "attempt": attempt}, available_at=when))


def refund_payment(ctx: "HubContext", row: OutboxEntry) -> RefundOutcome:
    """Ask the processor to refund the payment of outbox ``row`` and record the refund."""
    from hub.db.models.ledger import Payment

    payload = row.payload
    amount = Money(Decimal(payload["amount"]), payload["currency"])
    request = RefundRequest(payment_id=row.document_id,
                            payment_object_id=payload["payment_object_id"], amount=amount,
                            idempotency_key=f"hub-refund-{row.document_id}-{row.generation}",
                            reason=payload.get("reason") or None)
    outcome = ctx.plugins.hook.hub_refund_payment(connection=ctx.connection(row.connection),
                                                  refund=request)
    if outcome is None:
        raise PermanentError(f"no plugin refunds payments for connection {row.connection!r}")
    if outcome.status == "failed":
        raise PermanentError(outcome.message or "the processor refused the refund")
    if outcome.object_id:
        with ledger_session(ctx) as session:
            entry = session.get(OutboxEntry, row.id)
            entry.payload = {**entry.payload, REFUND_OBJECT_ID: outcome.object_id}
            session.add(entry)
            if outcome.status == "succeeded":
                original = session.get(Payment, row.document_id)
                apply_payment_event(session, row.connection, PaymentEvent(
                    event_id=f"refund:{outcome.object_id}", kind=PaymentEventKind.refunded,
                    object_id=outcome.object_id, occurred_at=ctx.clock(),
                    invoice_id=original.invoice_id,
                    organisation_id=original.organisation_id, amount=amount,
                    payment_object_id=request.payment_object_id, status="succeeded"))
    return outcome
