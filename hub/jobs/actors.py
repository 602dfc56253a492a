"""The hub's actors: thin, idempotent, and they take ids only.

They are declared by :func:`declare_actors` on the runtime's broker (never at import time), so
the embedded runtime, a Redis worker and a test's ``StubBroker`` each get their own set.

Outbox actors (``push_documents``/``push_document``, ``void_invoice``, ``charge_invoice``,
``send_invoice``) keep their attempt count and outcome on the outbox row. The others
(``pull_connection``, ``process_inbox_event``, ``billing_run``, ``send_reminders``,
``check_overdue``) count attempts on the message. Either way: a transient failure raises
``dramatiq.Retry`` with a backoff that honours ``Retry-After``; a permanent one (or the last
attempt) is recorded as a failed job and stops.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any, Callable

import dramatiq
from dramatiq.middleware import CurrentMessage
from sqlalchemy import select, update

from hub.db.engine import session_scope
from hub.db.models._base import utcnow
from hub.db.models.inbox import InboxEvent, InboxStatus
from hub.db.models.sync import ExternalLink, OutboxEntry
from hub.contract.records import ChargeStatus, DocumentRef, PaymentEvent, PushStatus
from hub.errors import PermanentError
from hub.jobs.outbox import DONE, RowResult, claim_rows, settle_rows
from hub.jobs.polling import poll_payments as poll_connection_payments
from hub.jobs.push import push_outbox_rows
from hub.jobs.records import record_failure
from hub.jobs.retries import backoff_seconds, classify

if TYPE_CHECKING:
    from hub.jobs.runtime import JobRuntime

__all__ = ["declare_actors", "OUTBOX_ACTORS"]

log = logging.getLogger("hub.jobs.actors")

#: outbox effect -> actor that performs it
OUTBOX_ACTORS = {"push": "push_documents", "void": "void_invoice", "charge": "charge_invoice",
                 "refund": "refund_payment", "send": "send_invoice"}


def _message_id() -> str | None:
    message = CurrentMessage.get_current_message()
    return message.message_id if message else None


def _retry(delay_seconds: float) -> dramatiq.Retry:
    return dramatiq.Retry(f"retry in {delay_seconds:.2f}s", delay=max(int(delay_seconds * 1000), 1))


def declare_actors(runtime: "JobRuntime") -> dict[str, dramatiq.Actor]:
    """Declare every hub actor on ``runtime.broker``; returns them by name."""
    ctx, settings, services = runtime.ctx, runtime.settings, runtime.services
    actors: dict[str, dramatiq.Actor] = {}
    # We decide when to give up (and record it); dramatiq's own limit is only a backstop.
    options = {"queue_name": settings.queue, "max_retries": settings.max_attempts * 2 + 5,
               "broker": runtime.broker}

    def _lease_from_now(extra_seconds: float) -> dt.datetime:
        return utcnow() + dt.timedelta(seconds=extra_seconds + settings.dispatch_lease_seconds)

    def actor(fn: Callable[..., Any]) -> Callable[..., Any]:
        actors[fn.__name__] = dramatiq.actor(fn, actor_name=fn.__name__, **options)
        return fn

    # --------------------------------------------------------------- outbox actors
    def run_single(actor_name: str, outbox_id: int,
                   perform: Callable[[OutboxEntry], RowResult]) -> None:
        rows = claim_rows(ctx.engine, [outbox_id], settings)
        if not rows:
            return  # already done or failed: a duplicate message changes nothing
        row = rows[0]
        try:
            result = perform(row)
        except Exception as exc:  # classified: permanent stops, anything else is retried
            failure = classify(exc)
            result = RowResult("failed" if failure.permanent else "retry", failure.message,
                               failure.retry_after)
        with session_scope(ctx.engine) as session:
            delay = settle_rows(session, rows, {row.id: result}, settings, actor=actor_name,
                                message_id=_message_id())
        if delay is not None:
            raise _retry(delay)

    @actor
    def push_documents(outbox_ids: list[int]) -> None:
        """Push the documents of these outbox rows (one connection, one kind) in one call."""
        delay = push_outbox_rows(runtime, outbox_ids, message_id=_message_id())
        if delay is not None:
            raise _retry(delay)

    @actor
    def push_document(outbox_id: int) -> None:
        """Push the document of one outbox row."""
        push_documents(outbox_ids=[outbox_id])

    @actor
    def void_invoice(outbox_id: int) -> None:
        """Void a pushed invoice at the accounting system (``hub_void_invoice``)."""

        def perform(row: OutboxEntry) -> RowResult:
            with session_scope(ctx.engine) as session:
                external_id = session.execute(select(ExternalLink.external_id).where(
                    ExternalLink.document_kind == "invoice",
                    ExternalLink.document_id == row.document_id,
                    ExternalLink.connection == row.connection)).scalar_one_or_none()
            if external_id is None:
                return RowResult("done", "never pushed to this connection: nothing to void")
            outcome = ctx.plugins.hook.hub_void_invoice(
                connection=ctx.connection(row.connection),
                invoice=DocumentRef(kind="invoice", id=row.document_id, external_id=external_id))
            if outcome is None:
                raise PermanentError(f"no installed plugin voids invoices on {row.connection!r}")
            if outcome.status == PushStatus.synced:
                return DONE
            if outcome.status == PushStatus.rejected:
                return RowResult("failed", (outcome.message or "void refused")
                                 + " — issue a credit note instead")
            return RowResult("retry", outcome.message, outcome.retry_after)

        run_single("void_invoice", outbox_id, perform)

    @actor
    def charge_invoice(outbox_id: int) -> None:
        """Charge the stored payment method for an invoice (idempotency key per attempt)."""

        def perform(row: OutboxEntry) -> RowResult:
            outcome = services.charge_invoice(ctx, row)
            status = getattr(outcome, "status", None)
            if status in (ChargeStatus.succeeded, ChargeStatus.processing):
                return DONE
            if status == ChargeStatus.retry:
                return RowResult("retry", outcome.message, outcome.retry_after)
            return RowResult("failed", getattr(outcome, "message", None) or f"charge {status}")

        run_single("charge_invoice", outbox_id, perform)

    @actor
    def refund_payment(outbox_id: int) -> None:
        """Refund a processor payment (idempotency key per refund request)."""

        def perform(row: OutboxEntry) -> RowResult:
            services.refund_payment(ctx, row)
            return DONE

        run_single("refund_payment", outbox_id, perform)

    @actor
    def send_invoice(outbox_id: int) -> None:
        """Send an invoice to the customer through the document sender hook point."""

        def perform(row: OutboxEntry) -> RowResult:
            services.send_invoice(ctx, row)
            return DONE

        run_single("send_invoice", outbox_id, perform)

    # --------------------------------------------------------------- plain actors
    def run_plain(actor_name: str, args: list[Any], body: Callable[[], Any], *,
                  connection: str | None = None,
                  on_give_up: Callable[[str], None] | None = None,
                  on_retry: Callable[[float], None] | None = None) -> None:
        message = CurrentMessage.get_current_message()
        attempt = (message.options.get("retries", 0) if message else 0) + 1
        try:
            body()
        except Exception as exc:  # classified: permanent stops, anything else is retried
            failure = classify(exc)
            if failure.permanent or attempt >= settings.max_attempts:
                reason = failure.message if failure.permanent else \
                    f"gave up after {attempt} attempts: {failure.message}"
                record_failure(ctx.engine, actor=actor_name, args=args, reason=reason,
                               attempts=attempt, connection=connection,
                               message_id=message.message_id if message else None)
                if on_give_up:
                    on_give_up(reason)
                return
            delay = backoff_seconds(attempt, settings, failure.retry_after)
            log.info("%s will retry in %.2fs: %s", actor_name, delay, failure.message,
                     extra={"job": actor_name, "connection": connection})
            if on_retry:
                on_retry(delay)
            raise _retry(delay) from exc

    @actor
    def pull_connection(connection_name: str) -> None:
        """Pull one connection's facts."""
        def body() -> None:
            report = services.pull_connection(ctx, connection_name)
            runtime.note_activity(connection_name, "pull")
            log.info("pulled %s", connection_name,
                     extra={"job": "pull_connection", "connection": connection_name,
                            "report": getattr(report, "summary", lambda: None)()})

        run_plain("pull_connection", [connection_name], body, connection=connection_name)

    @actor
    def poll_payments(connection_name: str) -> None:
        """Catch up a connection's payment changes since its last poll (a missed webhook)."""
        run_plain("poll_payments", [connection_name],
                  lambda: poll_connection_payments(ctx, runtime, connection_name),
                  connection=connection_name)

    @actor
    def process_inbox_event(inbox_id: int) -> None:
        """Apply one stored webhook event to the ledger, once."""
        with session_scope(ctx.engine) as session:
            row = session.get(InboxEvent, inbox_id)
            if row is None or row.status != InboxStatus.pending:
                return
            connection, payload = row.connection, dict(row.payload)
            session.execute(update(InboxEvent).where(InboxEvent.id == inbox_id).values(
                attempts=InboxEvent.attempts + 1, available_at=_lease_from_now(0)))

        def mark_processed(session) -> None:
            session.execute(update(InboxEvent).where(
                InboxEvent.id == inbox_id, InboxEvent.status == InboxStatus.pending)
                .values(status=InboxStatus.processed, processed_at=utcnow(), error=None))

        def body() -> None:
            event = PaymentEvent.model_validate(payload)
            # The ledger change and "processed" commit together: applied exactly once.
            services.apply_payment_event(ctx, connection, event, mark_processed)
            log.info("inbox event %s applied", inbox_id,
                     extra={"job": "process_inbox_event", "connection": connection,
                            "event_id": payload.get("event_id")})

        def give_up(reason: str) -> None:
            with session_scope(ctx.engine) as session:
                session.execute(update(InboxEvent).where(InboxEvent.id == inbox_id)
                                .values(status=InboxStatus.failed, error=reason))

        def extend_lease(delay: float) -> None:
            with session_scope(ctx.engine) as session:
                session.execute(update(InboxEvent).where(InboxEvent.id == inbox_id)
                                .values(available_at=_lease_from_now(delay)))

        run_plain("process_inbox_event", [inbox_id], body, connection=connection,
                  on_give_up=give_up, on_retry=extend_lease)

    @actor
    def billing_run(day: str) -> None:
        """The billing run for ``day`` (ISO date): auto-confirmed or held, per settings."""
        run_plain("billing_run", [day], lambda: services.billing_run(
            ctx, dt.date.fromisoformat(day), ctx.settings.billing.auto_confirm))

    @actor
    def send_reminders(day: str) -> None:
        """Send the payment reminders due on ``day``."""
        run_plain("send_reminders", [day],
                  lambda: services.send_reminders(ctx, dt.date.fromisoformat(day)))

    @actor
    def account_calendar(day: str) -> None:
        """Block and deactivate the accounts whose calendar dates came on ``day``."""
        run_plain("account_calendar", [day],
                  lambda: services.account_calendar(ctx, dt.date.fromisoformat(day)))

    @actor
    def card_reminders(day: str) -> None:
        """Send the expiring-card reminders due on ``day``."""
        run_plain("card_reminders", [day],
                  lambda: services.card_reminders(ctx, dt.date.fromisoformat(day)))

    @actor
    def check_overdue(day: str) -> None:
        """Mark invoices overdue as of ``day``."""
        run_plain("check_overdue", [day],
                  lambda: services.check_overdue(ctx, dt.date.fromisoformat(day)))

    return actors
