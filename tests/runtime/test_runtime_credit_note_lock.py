"""Issue #19: a credit note pushed to accounting is locked like an invoice — created through the
REST API, pushed by the outbox job, linked, marked locked by its connection, announced to
plugins through ``hub_lock_synced_documents``, and its sync status says so through the API."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

from dramatiq.brokers.stub import StubBroker
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict
from sqlalchemy import delete, select

from hub import ConnectionType, PushOutcome, PushStatus, hookimpl, owns
from hub.db.engine import session_scope
from hub.db.models import ExternalLink, Invoice, OutboxEntry
from hub.db.models.ledger import CreditNote
from hub.jobs import build_runtime
from hub.ledger import post_invoice
from hub.web.app import create_app
from hub.web.tokens import create_token

from hub.db.models import OutboxStatus
from hub.jobs import JobSettings
from hub.jobs.dispatcher import Dispatcher

FAST = JobSettings(min_backoff_seconds=0.01, max_backoff_seconds=0.05, max_attempts=5,
                   dispatch_lease_seconds=5, dispatch_interval_seconds=0.05, push_batch_size=10)


def push_until_settled(ctx, timeout: float = 20.0) -> None:
    """Run a worker and a dispatcher until no outbox row is pending or dispatched."""
    runtime = build_runtime(ctx, broker=StubBroker(), settings=FAST)
    runtime.start_worker(2)
    dispatcher = Dispatcher(runtime).start()
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with session_scope(ctx.engine) as session:
                if not session.execute(select(OutboxEntry.id).where(OutboxEntry.status.in_(
                        [OutboxStatus.pending, OutboxStatus.dispatched]))).first():
                    return
            time.sleep(0.05)
        raise AssertionError("outbox rows still open")
    finally:
        dispatcher.stop()
        runtime.close()


class _Empty(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreditBooks:
    """Takes invoices and credit notes; remembers what the hub announced as locked."""

    def __init__(self) -> None:
        self.credit_notes: list = []
        self.locked: list = []

    @hookimpl
    def hub_register_connection_types(self, register):
        register(ConnectionType("credit_books", _Empty, frozenset({"accounting"})))

    @hookimpl
    def hub_push_credit_notes(self, connection, credit_notes):
        if not owns(connection, "credit_books"):
            return None
        self.credit_notes.extend(credit_notes)
        return [PushOutcome(document_id=n.id, status=PushStatus.synced,
                            external_id=f"CN-X-{n.id}") for n in credit_notes]

    @hookimpl
    def hub_lock_synced_documents(self, connection, documents):
        self.locked.extend(documents)


def test_a_pushed_credit_note_is_locked_like_an_invoice(make_hub_context, seeding):
    plugin = CreditBooks()
    ctx = make_hub_context(plugin, connections=[{"name": "books", "plugin": "credit_books"}])
    [invoice_id] = seeding.seed_invoices(ctx.engine, 1, "elsewhere")
    with session_scope(ctx.engine) as session:
        session.execute(delete(OutboxEntry))
        post_invoice(session, session.get(Invoice, invoice_id), today=dt.date(2026, 11, 1))
    runtime = build_runtime(ctx, broker=StubBroker())
    token = create_token(ctx.engine, "credit-note-lock")
    with TestClient(create_app(ctx, runtime),
                    headers={"Authorization": f"Bearer {token}"}) as client:
        made = client.post("/credit-notes", json={"invoice_id": invoice_id, "percent": "10",
                                                  "reason": "goodwill", "date": "2026-11-05"})
        assert made.status_code == 201, made.text
        note_id = made.json()["id"]
        with session_scope(ctx.engine) as session:
            assert session.get(CreditNote, note_id).locked_at is None  # not synced yet
        runtime.close()
        push_until_settled(ctx)
        status = client.get(f"/jobs/documents/credit_note/{note_id}")
        assert status.status_code == 200, status.text
        [row] = status.json()
        assert (row["connection"], row["status"], row["external_id"]) == (
            "books", "done", f"CN-X-{note_id}")

    assert [n.id for n in plugin.credit_notes] == [note_id]
    assert plugin.credit_notes[0].total.amount == Decimal("10.00")
    with session_scope(ctx.engine) as session:
        note = session.get(CreditNote, note_id)
        assert note.locked_at is not None and note.locked_by == "books"
        link = session.execute(select(ExternalLink).where(
            ExternalLink.document_kind == "credit_note")).scalar_one()
        assert (link.document_id, link.external_id) == (note_id, f"CN-X-{note_id}")
    assert [(ref.kind, ref.id) for ref in plugin.locked] == [("credit_note", note_id)]
