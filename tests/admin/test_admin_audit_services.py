"""Every ledger change is in the audit trail with who made it, written in the same transaction
(a refused change leaves no audit row)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from hub import audit
from hub.billing.catalogue import create_organisation
from hub.billing.invoices import add_line, create_invoice, finalise
from hub.db.engine import session_scope
from hub.db.models import AuditEvent
from hub.errors import HubError
from hub.ledger import (
    create_credit_note, edit_invoice, mark_deleted, record_payment, refund, refund_from_balance,
)

DAY = dt.date(2026, 1, 1)


def _invoice(ctx, session, org_id: int, price: str) -> int:
    made = create_invoice(ctx, session, org_id, issue_date=DAY)
    add_line(session, made.id, description="Support", unit_price=price)
    finalise(ctx, session, made.id)
    return made.id


def test_ledger_changes_are_audited_with_their_actor(admin_ctx):
    ctx = admin_ctx
    with audit.acting_as("user:alice", "web"), session_scope(ctx.engine) as session:
        org = create_organisation(session, "Acme").id
        first, second = _invoice(ctx, session, org, "100.00"), _invoice(ctx, session, org, "50.00")
        pay = record_payment(session, org, "130", date=DAY, invoice_id=first)
        refund(session, pay.id, "10", date=DAY, reason="goodwill")
        edit_invoice(session, second, {"memo": "called"}, today=DAY)
        create_credit_note(session, invoice_id=second, percent=Decimal(10), date=DAY,
                           reason="late")
        refund_from_balance(session, org, "5", date=DAY)
        third = _invoice(ctx, session, org, "20.00")
        mark_deleted(session, third, when=ctx.clock())
    with session_scope(ctx.engine) as session:
        events = session.execute(select(AuditEvent).where(AuditEvent.actor == "user:alice")
                                 .order_by(AuditEvent.id)).scalars().all()
        actions = [e.action for e in events]
    for action in ("payment.recorded", "payment.refunded", "invoice.edited",
                   "credit_note.created", "invoice.credited", "payment.refunded_from_balance",
                   "invoice.deleted"):
        assert action in actions, action
    assert {e.via for e in events} == {"web"}


def test_a_refused_change_leaves_no_audit_row(admin_ctx):
    with session_scope(admin_ctx.engine) as session:
        org = create_organisation(session, "Acme").id
    with pytest.raises(HubError):
        with session_scope(admin_ctx.engine) as session:
            record_payment(session, org, "-5", date=DAY)
    with session_scope(admin_ctx.engine) as session:
        assert session.execute(select(AuditEvent).where(
            AuditEvent.action == "payment.recorded")).first() is None
