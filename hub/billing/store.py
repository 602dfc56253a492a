"""Writing drafts: invoices inserted exactly once, their lines, and what they reserve.

Invoices go in as ``INSERT ... ON CONFLICT (billing_key, period_start) DO NOTHING RETURNING``
would put them (:func:`hub.db.sql.insert_returning`): a draft whose key another run already
holds is skipped, not an error, so two runs started together for one date make every invoice
once between them (on PostgreSQL the second run's write waits for the first transaction and
then sees the conflict).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Sequence

from sqlalchemy import bindparam, select, tuple_, update
from sqlmodel import Session

from hub.db.sql import insert_returning, insert_rows
from hub.billing.drafts import Draft
from hub.db.models import FutureItem, Invoice, InvoiceLine, TicketCharge

__all__ = ["store_drafts", "Skipped"]


class Skipped(tuple):
    """``(billing_key, period_start, holder)`` of a draft another batch or invoice holds;
    ``preview_batch`` is the id of the preview batch whose draft holds it, if one does."""

    preview_batch: int | None = None


def store_drafts(session: Session, batch_id: int | None, drafts: Sequence[Draft]
                 ) -> tuple[list[int], list[Skipped]]:
    """Insert ``drafts``; returns the new invoice ids (in draft order) and the skipped keys."""
    if not drafts:
        return [], []
    table = Invoice.__table__
    rows = [{**d.invoice, "batch_id": batch_id} for d in drafts]
    made = _insert_invoices(session, table, rows)
    ids: list[int] = []
    skipped: list[Skipped] = []
    lines: list[dict] = []
    charge_lines: dict[tuple[int, str], int] = {}
    futures: list[dict] = []
    for draft in drafts:
        invoice_id = made.get(draft.key)
        if invoice_id is None:
            skipped.append(Skipped((*draft.key, None)))
            continue
        ids.append(invoice_id)
        for line in draft.lines:  # set in place: a copy of every line cost more than the rest
            line["invoice_id"] = invoice_id
        lines.extend(draft.lines)
        for charge_id in draft.charge_ids:
            charge_lines[(invoice_id, f"ticket_charge:{charge_id}")] = charge_id
        futures.extend({"fid": t.item.id, "inv": invoice_id, "taken": t.taken.amount}
                       for t in draft.taken)
    if lines:
        insert_rows(session.connection(), InvoiceLine.__table__, lines)
    if charge_lines:
        _reserve_charges(session, charge_lines)
    if futures:
        ft = FutureItem.__table__

        session.execute(update(ft).where(ft.c.id == bindparam("fid"))
                        .values(invoice_id=bindparam("inv"), taken_amount=bindparam("taken")),
                        futures, execution_options={"synchronize_session": False})
    if skipped:
        skipped = _holders(session, skipped)
    return ids, skipped


def _insert_invoices(session: Session, table: Any, rows: list[dict[str, Any]]
                     ) -> dict[tuple[str, dt.date], int]:
    """Insert ``rows`` unless their (billing key, period start) is held; ``key -> new id``."""
    made = insert_returning(session.connection(), table, rows,
                            skip_conflicts_on=["billing_key", "period_start"],
                            returning=["id", "billing_key", "period_start"])
    return {(key, start): invoice_id for invoice_id, key, start in made}


def _reserve_charges(session: Session, charge_lines: dict[tuple[int, str], int]) -> None:
    lt = InvoiceLine.__table__
    found = session.execute(select(lt.c.id, lt.c.invoice_id, lt.c.source_line_key).where(
        lt.c.invoice_id.in_({k[0] for k in charge_lines}),
        lt.c.line_type == "ticket_charge")).all()
    ct = TicketCharge.__table__
    for row in found:
        charge_id = charge_lines.get((row.invoice_id, row.source_line_key))
        if charge_id is not None:
            session.execute(update(ct).where(ct.c.id == charge_id).values(invoice_line_id=row.id))


def _holders(session: Session, skipped: list[Skipped]) -> list[Skipped]:
    table = Invoice.__table__
    keys = [(s[0], s[1]) for s in skipped]
    held = {(r.billing_key, r.period_start): r for r in session.execute(
        select(table.c.billing_key, table.c.period_start, table.c.batch_id, table.c.number,
               table.c.status).where(tuple_(table.c.billing_key, table.c.period_start).in_(keys)))}
    result = []
    for key in keys:
        row = held.get(key)
        if row is None:
            holder = "another run"
        elif row.status == "draft":
            holder = f"preview batch {row.batch_id}"
        else:
            holder = f"invoice {row.number}"
        skip = Skipped((*key, holder))
        if row is not None and row.status == "draft":
            skip.preview_batch = row.batch_id
        result.append(skip)
    return result


def describe_skipped(skipped: Sequence[Skipped]) -> list[str]:
    """One note per skipped draft, for the batch."""
    return [f"{key} from {start:%d %b %Y}: already in {holder}"
            for key, start, holder in skipped if isinstance(start, dt.date)]
