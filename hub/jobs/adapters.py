"""The services other parts of the hub provide to jobs, each behind one small function.

Jobs call billing, pulls, the ledger and the document sender only through these functions, and
import them lazily: the runtime starts (and its tests run) whether or not a service is installed,
and a missing one fails the job with a clear, replayable error instead of breaking start-up.
Tests (and embedders) replace any of them through :class:`Services`.
"""

from __future__ import annotations

import datetime as dt
import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from sqlmodel import Session

from hub.errors import PermanentError

if TYPE_CHECKING:
    from hub.host.context import HubContext
    from hub.contract.records import PaymentEvent
    from hub.db.models.sync import OutboxEntry

__all__ = ["Services", "service_function"]


def service_function(module: str, name: str) -> Callable[..., Any]:
    """``module.name``, imported now; a clear error when that service is not installed."""
    try:
        target = importlib.import_module(module)
    except ImportError as exc:
        if exc.name and module.startswith(exc.name):
            target = None
        else:
            raise
    function = getattr(target, name, None) if target is not None else None
    if function is None:
        raise PermanentError(f"{module}.{name} is not available in this installation",
                             hint="install or upgrade the hub, then `hub jobs retry --all`")
    return function


def pull_connection(ctx: "HubContext", connection_name: str) -> Any:
    """Pull one connection's facts (``hub.sources.pulling.pull_connection``)."""
    pull = service_function("hub.sources.pulling", "pull_connection")
    return pull(ctx.engine, ctx.plugins.hook, ctx.connection(connection_name))


def billing_run(ctx: "HubContext", day: dt.date, auto_confirm: bool) -> Any:
    """Run billing for ``day``: a preview batch (``hub.billing.preview``), confirmed at once
    when ``auto_confirm`` (``hub.billing.confirm``), else held for approval."""
    preview = service_function("hub.billing", "preview")
    summary = preview(ctx, day)
    if auto_confirm and getattr(summary, "invoices", 0):
        return service_function("hub.billing", "confirm")(ctx, summary.batch_id)
    return summary


def apply_payment_event(ctx: "HubContext", connection_name: str, event: "PaymentEvent",
                        on_applied: Callable[[Session], None]) -> Any:
    """Apply one processor event to the ledger (``hub.ledger.apply_payment_event``) and call
    ``on_applied(session)`` in the same transaction, so the inbox row is marked processed
    exactly when the ledger change commits."""
    ledger_session = service_function("hub.ledger", "ledger_session")
    apply = service_function("hub.ledger", "apply_payment_event")
    with ledger_session(ctx) as session:
        result = apply(session, connection_name, event)
        on_applied(session)
    return result


def send_reminders(ctx: "HubContext", day: dt.date) -> Any:
    """REMINDER SENDER HOOK POINT: send the payment reminders due on ``day``
    (``hub.ledger.send_reminders(ctx, day)``)."""
    return service_function("hub.ledger", "send_reminders")(ctx, day)


def check_overdue(ctx: "HubContext", day: dt.date) -> Any:
    """Mark invoices overdue as of ``day`` and emit ``hub_invoice_overdue``
    (``hub.ledger.run_overdue_check``)."""
    return service_function("hub.ledger", "run_overdue_check")(ctx, day)


def account_calendar(ctx: "HubContext", day: dt.date) -> Any:
    """Block and deactivate accounts whose dates came, and tell plugins
    (``hub.ledger.run_account_calendar``)."""
    return service_function("hub.ledger", "run_account_calendar")(ctx, day)


def card_reminders(ctx: "HubContext", day: dt.date) -> Any:
    """Email the expiring-card reminders due on ``day``
    (``hub.customer_docs.card_reminders.send_card_reminders``)."""
    return service_function("hub.customer_docs.card_reminders", "send_card_reminders")(ctx, day)


def charge_invoice(ctx: "HubContext", entry: "OutboxEntry") -> Any:
    """Charge the stored payment method for the invoice of outbox row ``entry``
    (``hub.ledger.charge_invoice(ctx, entry)`` returning a :class:`hub.contract.records.ChargeOutcome`;
    the dunning attempt, and so the idempotency key, comes from the row's payload)."""
    return service_function("hub.ledger", "charge_invoice")(ctx, entry)


def refund_payment(ctx: "HubContext", entry: "OutboxEntry") -> Any:
    """Refund a processor payment for outbox row ``entry`` (``hub.ledger.refund_payment``)."""
    return service_function("hub.ledger", "refund_payment")(ctx, entry)


def send_invoice(ctx: "HubContext", entry: "OutboxEntry") -> Any:
    """THE DOCUMENT SENDER HOOK POINT: render and send the invoice of outbox row ``entry``
    to the customer (``hub.customer_docs.sending.send_invoice(ctx, invoice_id, payload)``)."""
    send = service_function("hub.customer_docs.sending", "send_invoice")
    return send(ctx, entry.document_id, dict(entry.payload))


@dataclass
class Services:
    """The functions jobs call; replace one to test or embed the runtime differently."""

    pull_connection: Callable[["HubContext", str], Any] = pull_connection
    billing_run: Callable[["HubContext", dt.date, bool], Any] = billing_run
    apply_payment_event: Callable[..., Any] = apply_payment_event
    send_reminders: Callable[["HubContext", dt.date], Any] = send_reminders
    check_overdue: Callable[["HubContext", dt.date], Any] = check_overdue
    account_calendar: Callable[["HubContext", dt.date], Any] = account_calendar
    card_reminders: Callable[["HubContext", dt.date], Any] = card_reminders
    charge_invoice: Callable[["HubContext", "OutboxEntry"], Any] = charge_invoice
    refund_payment: Callable[["HubContext", "OutboxEntry"], Any] = refund_payment
    send_invoice: Callable[["HubContext", "OutboxEntry"], Any] = send_invoice
