"""Outbox rows through a job: claim, then settle each row as done, failed or retry-later.

A job *claims* its rows (attempt counted, lease renewed) before acting, and *settles* them after,
in the same transaction as the effect's own bookkeeping (external link, lock). A row that is
already done or failed is skipped, so a duplicate or replayed message changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Iterable, Literal

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from hub.db.engine import session_scope
from hub.db.models._base import utcnow
from hub.db.models.sync import OutboxEntry, OutboxStatus
from hub.jobs.records import record_failure
from hub.jobs.retries import backoff_seconds
from hub.jobs.settings import JobSettings

__all__ = ["RowResult", "claim_rows", "settle_rows", "DONE"]

log = logging.getLogger("hub.jobs.outbox")


@dataclass(frozen=True)
class RowResult:
    """What happened to one outbox row's effect."""

    status: Literal["done", "retry", "failed"]
    message: str | None = None
    retry_after: float | None = None


DONE = RowResult("done")


def claim_rows(engine: Engine, outbox_ids: Iterable[int], settings: JobSettings,
               now: dt.datetime | None = None) -> list[OutboxEntry]:
    """Rows still to do among ``outbox_ids``: attempt counted, lease renewed (see dispatcher)."""
    ids = sorted(set(outbox_ids))
    now = now or utcnow()
    with session_scope(engine) as session:
        rows = list(session.execute(select(OutboxEntry).where(
            OutboxEntry.id.in_(ids),
            OutboxEntry.status.in_([OutboxStatus.pending, OutboxStatus.dispatched]))
            .order_by(OutboxEntry.id)).scalars())
        for row in rows:
            row.attempts += 1
            row.status = OutboxStatus.dispatched
            row.available_at = now + dt.timedelta(seconds=settings.dispatch_lease_seconds)
            session.add(row)
    return rows


def settle_rows(session: Session, rows: Iterable[OutboxEntry], results: dict[int, RowResult],
                settings: JobSettings, *, actor: str, message_id: str | None = None,
                now: dt.datetime | None = None) -> float | None:
    """Write each row's outcome; returns the delay (seconds) before the rows to retry should
    run again, or None when nothing is left to retry.

    A row that has used up ``settings.max_attempts`` is failed instead of retried, and every
    failure gets a job record, so ``hub jobs list --failed`` shows it and ``hub jobs retry``
    replays it.
    """
    now = now or utcnow()
    delay: float | None = None
    rows = [row for row in rows if row.id in results]
    entries = {e.id: e for e in session.execute(select(OutboxEntry).where(
        OutboxEntry.id.in_([row.id for row in rows]))).scalars()}
    for row in rows:
        result = results[row.id]
        fields = {"connection": row.connection, "outbox_id": row.id,
                  "document_kind": row.document_kind, "document_id": row.document_id}
        entry = entries.get(row.id)
        if entry is None or entry.status in (OutboxStatus.done, OutboxStatus.failed):
            continue  # settled meanwhile by a duplicate message: leave its outcome alone
        if result.status == "retry" and row.attempts >= settings.max_attempts:
            result = RowResult("failed", f"gave up after {row.attempts} attempts: {result.message}")
        if result.status == "done":
            entry.status = OutboxStatus.done
            entry.finished_at = now
            entry.last_error = None
            log.debug("outbox %s done", row.id, extra={"job": actor, **fields})
        elif result.status == "failed":
            entry.status = OutboxStatus.failed
            entry.finished_at = now
            entry.last_error = result.message
            record_failure(session.get_bind(), actor=actor, args=[row.id],
                           reason=result.message or "failed", attempts=row.attempts,
                           message_id=message_id, session=session, **fields)
        else:
            wait = backoff_seconds(row.attempts, settings, result.retry_after)
            delay = wait if delay is None else max(delay, wait)
            entry.last_error = result.message
            # The retry message is already scheduled; the lease covers the wait as well, so
            # the dispatcher only steps in if that message is lost.
            entry.available_at = now + dt.timedelta(seconds=wait + settings.dispatch_lease_seconds)
            log.info("outbox %s will retry in %.2fs: %s", row.id, wait, result.message,
                     extra={"job": actor, **fields})
        session.add(entry)
    return delay
