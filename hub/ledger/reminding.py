"""Payment reminders (seed 002): on the configured days after an unpaid or partially paid
invoice's document date, ask the document sender to email it again as a reminder.

Each reminder is one outbox row (effect ``send``, generation = the day count, request key
``reminder-<days>``), so running the daily job twice sends nothing twice.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlmodel import Session, select

from hub.db.models.catalogue import Organisation
from hub.db.models.sync import Effect, OutboxEntry
from hub.ledger._base import live_invoices_due
from hub.ledger.accounts import reminders

if TYPE_CHECKING:
    from hub.host.context import HubContext

__all__ = ["queue_reminders", "send_reminders", "REMINDER_CONNECTION"]

#: The outbox connection of effects the hub performs itself (as billing's post tasks use).
REMINDER_CONNECTION = "hub"


def queue_reminders(session: Session, day: dt.date, reminder_days: list[int]) -> list[int]:
    """Write the outbox rows of the reminders due on ``day``; returns the invoice ids."""
    queued = []
    for org_id in session.exec(select(Organisation.id)).all():
        # A reminder names its invoice by number (or id when it has none), as people read
        # it; the key is matched back here among the organisation's own invoices, where a
        # number that is also another invoice's id cannot be mistaken for it.
        by_key = {i.number or i.id: i for i in live_invoices_due(session, org_id)}
        for reminder in reminders(session, org_id, reminder_days, today=day):
            if reminder.send_on != day:
                continue
            invoice = by_key[reminder.invoice_key]
            exists = session.exec(select(OutboxEntry.id).where(
                OutboxEntry.effect == Effect.send, OutboxEntry.document_kind == "invoice",
                OutboxEntry.document_id == invoice.id,
                OutboxEntry.connection == REMINDER_CONNECTION,
                OutboxEntry.generation == reminder.days_after)).first()
            if exists is None:
                session.add(OutboxEntry(effect=Effect.send, document_kind="invoice",
                                        document_id=invoice.id, connection=REMINDER_CONNECTION,
                                        generation=reminder.days_after,
                                        payload={"request": f"reminder-{reminder.days_after}"}))
                queued.append(invoice.id)
    session.flush()
    return queued


def send_reminders(ctx: "HubContext", day: dt.date | None = None) -> list[int]:
    """The daily reminder job: queue the reminders due on ``day`` (default today)."""
    from hub.db.engine import session_scope

    with session_scope(ctx.engine) as session:
        return queue_reminders(session, day or ctx.today(), list(ctx.settings.billing.reminder_days))
