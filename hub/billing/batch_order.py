"""Billing batches are confirmed and discarded in run-date order.

A preview drafts what is due by its run date and was not drafted by another preview already.
So while January's preview is open, February's holds February only: confirming February first
would number its invoices before January's (accountants and tax rules expect numbers to follow
invoice dates) and move the schedules on past January, which January's batch would then move
back; discarding January while February waits and confirming February would leave January
unbilled for good. Hence: a batch is confirmed only when no batch of an earlier run date is
still a preview, and discarded only when none of a later run date is.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from hub.db.models import BillingBatch
from hub.db.models.batches import BatchStatus
from hub.errors import EditNotAllowed

__all__ = ["confirm_in_order", "discard_in_order"]


def _open_preview(session: Session, batch: BillingBatch, earlier: bool):
    """The first open preview of an earlier (or the last of a later) run date than ``batch``'s."""
    bt = BillingBatch.__table__
    if earlier:
        where, order = bt.c.run_date < batch.run_date, (bt.c.run_date, bt.c.id)
    else:
        where, order = bt.c.run_date > batch.run_date, (bt.c.run_date.desc(), bt.c.id.desc())
    return session.execute(select(bt.c.id, bt.c.run_date).where(
        bt.c.status == BatchStatus.preview.value, where).order_by(*order).limit(1)).first()


def _preview(session: Session, batch_id: int) -> BillingBatch | None:
    batch = session.get(BillingBatch, batch_id)
    # anything else: the caller's claim says why it cannot be confirmed or discarded
    return batch if batch is not None and batch.status is BatchStatus.preview else None


def confirm_in_order(session: Session, batch_id: int) -> None:
    """Refuse (409) to confirm ``batch_id`` while a batch of an earlier run date is a preview."""
    batch = _preview(session, batch_id)
    other = _open_preview(session, batch, earlier=True) if batch else None
    if other is not None:
        raise EditNotAllowed(
            f"billing batch {other.id} (run date {other.run_date}) is still a preview; confirm "
            f"it before batch {batch_id} (run date {batch.run_date}), so that invoice numbers "
            f"follow invoice dates",
            hint=f"run `hub bill confirm {other.id}` first; to draft it again instead, discard "
                 f"batch {batch_id} and the later previews first, then batch {other.id}")


def discard_in_order(session: Session, batch_id: int) -> None:
    """Refuse (409) to discard ``batch_id`` while a batch of a later run date is a preview: it
    was drafted without what this one holds, which would then never be billed."""
    batch = _preview(session, batch_id)
    if batch is None or batch.filled_at is None:
        return  # an unfinished preview is rolled back whole (a crash), and drafted again
    other = _open_preview(session, batch, earlier=False)
    if other is not None:
        raise EditNotAllowed(
            f"billing batch {other.id} (run date {other.run_date}) was drafted after batch "
            f"{batch_id} (run date {batch.run_date}) and without what it holds; discarding "
            f"{batch_id} alone would leave that unbilled",
            hint=f"discard batch {other.id} (and any later preview) first, then {batch_id}; "
                 f"or confirm {batch_id}")
