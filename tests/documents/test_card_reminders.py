"""Issue #19: expiring-card reminders end to end. The daily ``card_reminders`` job (scheduled
with the other daily jobs) mails each customer whose card expires next month, through a real
local SMTP server, once per expiry; a customer without an email is skipped and named."""

from __future__ import annotations

from dramatiq.brokers.stub import StubBroker

from hub.db.engine import session_scope
from hub.db.models import DocumentSend, PaymentProfile
from hub.jobs import build_runtime
from hub.jobs.scheduler import DAILY_JOBS, due_runs
from hub.ledger.payment_profiles import CardDetails, attach_profile
from tests.documents.conftest import add_organisation
from tests.documents.test_documents_send import mail_settings


def _card(session, org, *, month, year, ref):
    return attach_profile(session, organisation_id=org.id, connection="stripe",
                          customer_ref=f"cus_{ref}", payment_method_ref=f"pm_{ref}",
                          card=CardDetails("visa", "4242", month, year))


def test_daily_job_mails_expiring_cards_once(make_context, smtp_server, engine):
    ctx = make_context(mail=mail_settings(smtp_server.port))  # the clock says 2026-03-15
    with session_scope(engine) as s:
        acme = add_organisation(s, name="Acme", email="ap@acme.test")
        silent = add_organisation(s, name="No Mail Ltd", email=None)
        later = add_organisation(s, name="Later Inc", email="ap@later.test")
        _card(s, acme, month=4, year=2026, ref="acme")       # expires next month: remind
        _card(s, silent, month=4, year=2026, ref="silent")   # no email: skipped, named
        _card(s, later, month=9, year=2026, ref="later")     # not yet
    assert "card_reminders" in DAILY_JOBS
    assert any(run.actor == "card_reminders" for run in due_runs(ctx, ctx.clock()))

    runtime = build_runtime(ctx, broker=StubBroker())
    runtime.start_worker(1)
    try:
        for _ in range(2):  # the daily job run twice mails once
            runtime.send("card_reminders", "2026-03-15")
            runtime.broker.join(runtime.actors["card_reminders"].queue_name, fail_fast=True)
            runtime.worker.join()
    finally:
        runtime.close()

    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert message["To"] == "ap@acme.test"
    assert "visa card ending 4242 expires 04/2026" in message["Subject"]
    assert "Dear Acme" in message.get_content()
    with session_scope(engine) as s:
        reminded = {p.payment_method_ref: p.reminded_for for p in s.query(PaymentProfile)}
        assert reminded == {"pm_acme": "2026-04", "pm_silent": None, "pm_later": None}
        [send] = s.query(DocumentSend).all()
        assert (send.document_kind, send.status) == ("card_reminder", "sent")
