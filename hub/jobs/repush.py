"""Asking again for an effect: ``hub outbox repush`` (a fix command ``hub reconcile`` offers).

A new outbox row with the next *generation* is written rather than editing the old one, so the
history of attempts stays readable and the unique constraint still holds exactly one request
per (effect, document, connection, generation). Pushing is idempotent at the plugin (it looks a
document up before re-sending), so asking again can never create a duplicate.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import select

from hub import audit
from hub.db.engine import session_scope
from hub.db.models.sync import Effect, OutboxEntry, OutboxStatus
from hub.errors import NotFound, ValidationFailed

__all__ = ["repush", "DOCUMENT_KINDS"]

DOCUMENT_KINDS = ("invoice", "credit_note", "payment")


def _document_model(kind: str):
    from hub.db.models import CreditNote, Invoice, Payment

    return {"invoice": Invoice, "credit_note": CreditNote, "payment": Payment}[kind]


def repush(engine: Engine, kind: str, document_id: int, connection: str) -> OutboxEntry:
    """Request the push of one document to ``connection`` again; returns the new row.

    Refused when a push of it is still pending or running (the worker will get to it).
    """
    if kind not in DOCUMENT_KINDS:
        raise ValidationFailed(f"unknown document kind {kind!r}",
                               hint=f"use one of: {', '.join(DOCUMENT_KINDS)}")
    with session_scope(engine) as session:
        if session.get(_document_model(kind), document_id) is None:
            raise NotFound(f"no {kind.replace('_', ' ')} with id {document_id}")
        rows = session.exec(select(OutboxEntry).where(
            OutboxEntry.effect == Effect.push, OutboxEntry.document_kind == kind,
            OutboxEntry.document_id == document_id, OutboxEntry.connection == connection)).all()
        open_rows = [r for r in rows if r.status in (OutboxStatus.pending, OutboxStatus.dispatched)]
        if open_rows:
            raise ValidationFailed(
                f"{kind} {document_id} is already waiting to be pushed to {connection} "
                f"(outbox row {open_rows[0].id})", hint="start a worker: `hub worker` or `hub run`")
        generation = max((r.generation for r in rows), default=-1) + 1
        row = OutboxEntry(effect=Effect.push, document_kind=kind, document_id=document_id,
                          connection=connection, generation=generation)
        session.add(row)
        session.flush()
        audit.record(session, "document.repushed", kind, document_id,
                     summary=f"push to {connection} requested again (outbox row {row.id})")
        return row
