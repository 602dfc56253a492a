"""The dispatcher: pending outbox rows become job messages; lost messages are sent again.

A row is *due* when it is pending, or dispatched but its lease (``available_at``) has run out —
its message was lost (a worker died, the embedded queue went down with its process) or its job
never finished. Each pass claims the due rows (``SELECT ... FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so any number of dispatchers share the work; SQLite serialises writers anyway),
marks them dispatched with a fresh lease, commits, and only then sends the messages: a crash
between the two leaves rows whose lease runs out and which are therefore sent again. Jobs are
idempotent, so a message sent twice changes nothing.

Push rows of one connection and document kind are sent in batches (one hook call each).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import defaultdict
from typing import TYPE_CHECKING

from sqlalchemy import and_, or_, select, update

from hub.db.engine import session_scope
from hub.db.models._base import utcnow
from hub.db.models.inbox import InboxEvent, InboxStatus
from hub.db.models.sync import Effect, OutboxEntry, OutboxStatus
from hub.jobs.actors import OUTBOX_ACTORS
from hub.jobs.outbox import RowResult, settle_rows
from hub.jobs.records import send_requested

if TYPE_CHECKING:
    from hub.jobs.runtime import JobRuntime

__all__ = ["Dispatcher", "DISPATCH_PASS_LIMIT"]

log = logging.getLogger("hub.jobs.dispatcher")

#: Rows claimed per transaction; a pass repeats until fewer are due.
DISPATCH_PASS_LIMIT = 500
#: On the embedded broker, an inbox event no job has touched this long after it arrived was
#: stored by a process without workers (``hub serve`` alone): this process's workers take it.
INBOX_PICKUP_SECONDS = 5.0


class Dispatcher:
    """Turns due outbox rows into messages on ``runtime``'s broker."""

    def __init__(self, runtime: "JobRuntime") -> None:
        self.runtime = runtime
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def recover_in_process(self) -> int:
        """On the embedded broker the queue died with the last process: make every outbox row
        still marked dispatched, and every pending inbox event, due now. Returns how many."""
        with session_scope(self.runtime.ctx.engine) as session:
            result = session.execute(update(OutboxEntry).where(
                OutboxEntry.status == OutboxStatus.dispatched).values(available_at=utcnow()))
            count = result.rowcount or 0
            result = session.execute(update(InboxEvent).where(
                InboxEvent.status == InboxStatus.pending).values(available_at=utcnow()))
            count += result.rowcount or 0
        if count:
            log.info("re-sending %d outbox rows left dispatched by the previous process", count)
        return count

    def dispatch_once(self, now: dt.datetime | None = None) -> int:
        """Send every due outbox row, every inbox event whose message was lost and every job
        whose replay was requested; returns how many."""
        total = self._resend_inbox(now or utcnow()) + send_requested(self.runtime)
        while True:
            sent = self._dispatch_pass(now or utcnow())
            total += sent
            if sent < DISPATCH_PASS_LIMIT:
                return total

    def _resend_inbox(self, now: dt.datetime) -> int:
        """Pending inbox events past their lease lost their message: send it again."""
        engine = self.runtime.ctx.engine
        lease = dt.timedelta(seconds=self.runtime.settings.dispatch_lease_seconds)
        due = InboxEvent.available_at <= now
        if self.runtime.in_process:
            due = or_(due, and_(InboxEvent.attempts == 0, InboxEvent.received_at <= now
                                - dt.timedelta(seconds=INBOX_PICKUP_SECONDS)))
        with session_scope(engine) as session:
            query = (select(InboxEvent).where(InboxEvent.status == InboxStatus.pending, due)
                     .order_by(InboxEvent.id).limit(DISPATCH_PASS_LIMIT))
            if engine.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = list(session.execute(query).scalars())
            for row in rows:
                row.available_at = now + lease
                session.add(row)
            ids = [row.id for row in rows]
        for inbox_id in ids:
            self.runtime.send("process_inbox_event", inbox_id)
        return len(ids)

    def _dispatch_pass(self, now: dt.datetime) -> int:
        runtime = self.runtime
        engine = runtime.ctx.engine
        lease = dt.timedelta(seconds=runtime.settings.dispatch_lease_seconds)
        with session_scope(engine) as session:
            query = (select(OutboxEntry)
                     .where(OutboxEntry.status.in_([OutboxStatus.pending, OutboxStatus.dispatched]),
                            OutboxEntry.available_at <= now)
                     .order_by(OutboxEntry.id).limit(DISPATCH_PASS_LIMIT))
            if engine.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = list(session.execute(query).scalars())
            for row in rows:
                row.status = OutboxStatus.dispatched
                row.available_at = now + lease
                session.add(row)
            claimed = [(row.id, row.effect, row.document_kind, row.connection) for row in rows]
            # An effect no actor performs fails now, visibly and replayably, instead of being
            # re-sent forever.
            unknown = [row for row in rows if row.effect not in OUTBOX_ACTORS]
            if unknown:
                settle_rows(session, unknown, {row.id: RowResult(
                    "failed", f"no job performs outbox effect {row.effect!r} in this version",
                ) for row in unknown}, runtime.settings, actor="dispatcher", now=now)
        # Committed: now send. Push rows go in batches per (connection, kind).
        batches: dict[tuple[str, str], list[int]] = defaultdict(list)
        for row_id, effect, kind, connection in claimed:
            if effect == Effect.push:
                batches[(connection, kind)].append(row_id)
            elif effect in OUTBOX_ACTORS:
                runtime.send(OUTBOX_ACTORS[effect], row_id)
        size = runtime.settings.push_batch_size
        for (connection, kind), ids in batches.items():
            for start in range(0, len(ids), size):
                runtime.send("push_documents", ids[start:start + size])
            log.info("dispatched %d %s push(es) for %s", len(ids), kind, connection,
                     extra={"connection": connection, "document_kind": kind})
        return len(claimed)

    # ------------------------------------------------------------------ background loop
    def start(self) -> "Dispatcher":
        """Dispatch in a background thread every ``dispatch_interval_seconds``."""
        if self.runtime.in_process:
            self.recover_in_process()
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="hub-dispatcher", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        interval = self.runtime.settings.dispatch_interval_seconds
        while not self._stop.is_set():
            try:
                self.dispatch_once()
            except Exception:  # keep dispatching after a database hiccup; the row stays due
                log.exception("dispatch pass failed; trying again in %.1fs", interval)
            self._stop.wait(interval)

    def stop(self) -> None:
        """Stop the background loop (a pass in progress completes)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
