"""Section *time*: billable time never invoiced, older than ``--stale-days``.

A ticket charge that is billable, not on any invoice line and not marked invoiced, worked more
than N days ago, is money the MSP earned and has not asked for. It is streamed straight from the
ticket charges (one query, oldest first per organisation); the money at stake is quantity × unit
price. The cause says whether the organisation's recurring invoice would pick it up on its own
(``add_pending_ticket_charges``) — if not, nobody will, unless told.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import TYPE_CHECKING, Iterator

from sqlalchemy import exists, select

from hub.core.money import Money
from hub.db.models import LaborStatus, RecurringInvoice, Ticket, TicketCharge
from hub.reconcile.core import ADD_TO_NEXT_INVOICE, Difference, Options, Progress
from hub.reconcile.reading import read_only, stream

if TYPE_CHECKING:
    from hub.host.context import HubContext

__all__ = ["run"]

SECTION = "time"


def run(ctx: "HubContext", options: Options, progress: Progress) -> Iterator[Difference]:
    """Stale unbilled ticket charges (see module docstring)."""
    cutoff = options.today - dt.timedelta(days=options.stale_days)
    progress.start(SECTION, f"billable time older than {options.stale_days} days")
    with read_only(ctx.engine) as reader, reader.connect() as conn, \
            reader.connect() as lookups:
        picks_up = lru_cache(maxsize=10_000)(lambda org: _recurring_picks_up(lookups, org))
        for row in stream(conn, _statement(options, cutoff)):
            progress.advance()
            worked = row.worked_at.date()
            if not options.in_window(worked) or worked >= cutoff:
                continue
            age = (options.today - worked).days
            at_stake = Money(row.quantity * row.unit_price, row.currency).rounded()
            automatic = picks_up(row.organisation_id)
            cause = (f"billable time worked {worked} ({age} days ago) is still not invoiced"
                     + ("" if automatic else
                        "; no active recurring invoice of this organisation adds pending "
                        "ticket charges"))
            yield Difference(SECTION, "time_not_invoiced", row.organisation_id,
                             f"ticket {row.number}: {row.description}",
                             "hub tickets ↔ hub invoices", f"{_qty(row.quantity)} × "
                             f"{Money(row.unit_price, row.currency)} not invoiced",
                             "no invoice line", at_stake, cause, ADD_TO_NEXT_INVOICE)


def _statement(options: Options, cutoff: dt.date):
    conditions = [TicketCharge.billable.is_(True), TicketCharge.invoice_line_id.is_(None),
                  TicketCharge.labor_status != LaborStatus.invoiced,
                  TicketCharge.worked_at.is_not(None),
                  # a day's margin: worked_at is a timestamp, the cutoff a date (checked again)
                  TicketCharge.worked_at < dt.datetime.combine(cutoff, dt.time(),
                                                               tzinfo=dt.timezone.utc)
                  + dt.timedelta(days=1)]
    if options.organisation_id is not None:
        conditions.append(TicketCharge.organisation_id == options.organisation_id)
    return (select(TicketCharge.id, TicketCharge.organisation_id, TicketCharge.description,
                   TicketCharge.quantity, TicketCharge.unit_price, TicketCharge.currency,
                   TicketCharge.worked_at, Ticket.number)
            .join(Ticket, Ticket.id == TicketCharge.ticket_id)
            .where(*conditions)
            .order_by(TicketCharge.organisation_id, TicketCharge.worked_at, TicketCharge.id))


def _recurring_picks_up(conn, organisation_id: int) -> bool:
    return bool(conn.execute(select(exists().where(
        RecurringInvoice.organisation_id == organisation_id,
        RecurringInvoice.active.is_(True),
        RecurringInvoice.add_pending_ticket_charges.is_(True)))).scalar())


def _qty(value) -> str:
    return format(value.normalize(), "f")
