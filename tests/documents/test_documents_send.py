"""Sending documents by email to a real local SMTP server (aiosmtpd on 127.0.0.1), reading the
message back, and a refused send retried by the job runtime and then reported."""

from __future__ import annotations

import datetime as dt
import json
import re
import time

import pytest
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import select

from hub.db.engine import session_scope
from hub.db.models import DocumentSend, JobRecord, OutboxEntry, OutboxStatus, SendStatus
from hub.db.models.sync import Effect
from hub.errors import PermanentError, TransientError
from hub.jobs import JobSettings, build_runtime
from hub.customer_docs.sending import list_sends, send_invoice, send_statement, sends_summary


def mail_settings(port: int, **extra) -> dict:
    return {"host": "127.0.0.1", "port": port, "security": "none",
            "from_address": "billing@northwind.test", "timeout_seconds": 5, **extra}


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sends(engine) -> list[DocumentSend]:
    with session_scope(engine) as session:
        return list(session.execute(select(DocumentSend).order_by(DocumentSend.id)).scalars())


def test_invoice_is_sent_with_subject_body_and_its_pdf(make_context, one_time_invoice,
                                                       smtp_server, pdf_text_of):
    ctx = make_context(mail=mail_settings(smtp_server.port, bcc=["archive@northwind.test"]))
    outcome = send_invoice(ctx, one_time_invoice.invoice_id, {})

    assert outcome.delivered_now
    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    mail_from, rcpt_tos = smtp_server.envelopes[0]
    assert mail_from == "billing@northwind.test"
    assert rcpt_tos == ["ap@acme.test", "archive@northwind.test"]  # Bcc only in the envelope
    assert message["To"] == "ap@acme.test" and "Bcc" not in message
    assert message["From"] == "Northwind IT Services <billing@northwind.test>"
    assert message["Subject"] == "Invoice 2026010042 from Northwind IT Services"
    assert message["Date"] and message["Message-ID"]
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "Dear Acme Dental Group," in body
    assert "Please find attached invoice 2026010042 dated Jan 5, 2026 for $864.80." in body
    assert "Amount due: $864.80 by Jan 19, 2026." in body
    assert "sort code 12-34-56" in body
    attachments = list(message.iter_attachments())
    assert [a.get_filename() for a in attachments] == ["invoice-2026010042.pdf"]
    assert attachments[0].get_content_type() == "application/pdf"
    text = re.sub(r"\s+", " ", pdf_text_of(attachments[0].get_content()))
    assert "Invoice number 2026010042" in text and "Total $864.80" in text
    assert "Tax 20% $135.80" in text

    (record,) = sends(ctx.engine)
    assert (record.document_kind, record.document_id, record.request_key) == (
        "invoice", one_time_invoice.invoice_id, "auto")
    assert record.status == SendStatus.sent and record.attempts == 1
    assert record.to == "ap@acme.test" and record.subject == message["Subject"]
    assert record.reference == "2026010042"
    assert record.message_id == message["Message-ID"] and record.sent_at is not None


def test_the_send_job_running_again_sends_nothing_twice(make_context, one_time_invoice,
                                                        smtp_server):
    ctx = make_context(mail=mail_settings(smtp_server.port))
    assert send_invoice(ctx, one_time_invoice.invoice_id, {}).delivered_now
    again = send_invoice(ctx, one_time_invoice.invoice_id, {})
    assert not again.delivered_now and again.record.status == SendStatus.sent
    assert len(smtp_server.messages) == 1
    # An on-demand send (its own request key) does send again, to the address asked for.
    other = send_invoice(ctx, one_time_invoice.invoice_id,
                         {"request": "manual-1", "to": ["boss@acme.test"]})
    assert other.delivered_now and len(smtp_server.messages) == 2
    assert smtp_server.messages[1]["To"] == "boss@acme.test"
    assert len(sends(ctx.engine)) == 2


def test_refused_connection_is_transient_recorded_and_the_retry_sends(make_context,
                                                                      one_time_invoice,
                                                                      smtp_server):
    ctx = make_context(mail=mail_settings(closed_port()))
    with pytest.raises(TransientError, match="could not be reached"):
        send_invoice(ctx, one_time_invoice.invoice_id, {})
    (record,) = sends(ctx.engine)
    assert record.status == SendStatus.failed and record.attempts == 1
    assert "ConnectionRefusedError" in record.error

    # The server is back (the job's next attempt): the same record becomes sent.
    ctx_ok = make_context(mail=mail_settings(smtp_server.port))
    assert send_invoice(ctx_ok, one_time_invoice.invoice_id, {}).delivered_now
    (record,) = sends(ctx.engine)
    assert record.status == SendStatus.sent and record.attempts == 2 and record.error is None


def test_server_answering_5xx_is_transient_and_recorded(make_context, one_time_invoice,
                                                        smtp_server):
    smtp_server.refuse = "554 5.7.1 Message rejected: relay quota exceeded"
    ctx = make_context(mail=mail_settings(smtp_server.port))
    with pytest.raises(TransientError, match="554"):
        send_invoice(ctx, one_time_invoice.invoice_id, {})
    (record,) = sends(ctx.engine)
    assert record.status == SendStatus.failed
    assert "554 5.7.1 Message rejected: relay quota exceeded" in record.error


def test_refused_send_is_retried_by_the_job_then_reported(make_context, one_time_invoice,
                                                          smtp_server, tmp_path, capsys):
    """The post-invoicing send as billing writes it (outbox effect "send", connection "hub"):
    the runtime's send_invoice job retries the refused send, gives up after its last attempt,
    and the failure is reported by `hub send list --failed` and as a failed job."""
    smtp_server.refuse = "554 5.7.1 Message rejected"
    ctx = make_context(mail=mail_settings(smtp_server.port))
    with session_scope(ctx.engine) as session:
        row = OutboxEntry(effect=Effect.send, document_kind="invoice",
                          document_id=one_time_invoice.invoice_id, connection="hub", payload={})
        session.add(row)
        session.flush()
        outbox_id = row.id
    settings = JobSettings(min_backoff_seconds=0.01, max_backoff_seconds=0.05, max_attempts=3)
    runtime = build_runtime(ctx, broker=StubBroker(), settings=settings)
    runtime.start_worker(1)
    try:
        runtime.send("send_invoice", outbox_id)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with session_scope(ctx.engine) as session:
                if session.get(OutboxEntry, outbox_id).status == OutboxStatus.failed:
                    break
            time.sleep(0.05)
        runtime.broker.join(settings.queue)
    finally:
        runtime.close()

    assert smtp_server.attempts == 3  # tried three times, refused three times
    assert smtp_server.messages == []
    with session_scope(ctx.engine) as session:
        entry = session.get(OutboxEntry, outbox_id)
        assert entry.status == OutboxStatus.failed and entry.attempts == 3
        assert "554" in entry.last_error
        job = session.execute(select(JobRecord).where(JobRecord.outbox_id == outbox_id)
                              ).scalar_one()
        assert job.actor == "send_invoice" and job.document_id == one_time_invoice.invoice_id
    (record,) = list_sends(ctx.engine, failed_only=True)
    assert record.status == SendStatus.failed and record.attempts == 3
    assert sends_summary(ctx.engine) == {"failed": 1}
    assert "554 5.7.1 Message rejected" in record.error

    # Reported to the operator by the CLI.
    from hub.cli.main import main

    config = tmp_path / "hub.toml"
    config.write_text(f'database_url = "{ctx.engine.url.render_as_string(hide_password=False)}"\n'
                      f'data_dir = "{(tmp_path / "data").as_posix()}"\n')
    capsys.readouterr()
    assert main(["--config", str(config), "send", "list", "--failed", "--json"]) == 0
    (shown,) = json.loads(capsys.readouterr().out)
    assert (shown["document_kind"], shown["document_id"], shown["reference"]) == (
        "invoice", one_time_invoice.invoice_id, "2026010042")
    assert shown["status"] == "failed" and shown["attempts"] == 3
    assert "554 5.7.1 Message rejected" in shown["error"]
    # The list pages and prints as every list command does; a kind it does not know is refused.
    cli = ["--config", str(config), "send", "list"]
    assert main([*cli, "--kind", "invoice", "--format", "csv"]) == 0
    header, line = capsys.readouterr().out.splitlines()
    assert header.startswith("id,document_kind,document_id,reference,")
    assert f"invoice,{one_time_invoice.invoice_id},2026010042," in line and ",failed,3," in line
    assert main([*cli, "--failed", "--offset", "1"]) == 0
    assert "no failed sends" in capsys.readouterr().out
    assert main([*cli, "--kind", "statment"]) == 2
    assert main([*cli, "--limit", "0"]) == 2
    assert main([*cli, "--kind", "statement", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_no_recipient_and_draft_invoices_are_permanent_failures(make_context, build, engine,
                                                               smtp_server):
    ctx = make_context(mail=mail_settings(smtp_server.port))
    with session_scope(engine) as session:
        org = build.organisation(session, email=None)
        no_email = build.invoice(session, org, [{"description": "x", "unit_price": "10.00"}],
                                 number="2026099001", status="unpaid",
                                 issue_date=dt.date(2026, 1, 1), due_date=dt.date(2026, 1, 2)).id
        draft = build.invoice(session, org, [{"description": "x", "unit_price": "10.00"}],
                              status="draft", issue_date=dt.date(2026, 1, 1),
                              due_date=dt.date(2026, 1, 2)).id
    with pytest.raises(PermanentError, match="no recipient"):
        send_invoice(ctx, no_email, {})
    with pytest.raises(PermanentError, match="draft"):
        send_invoice(ctx, draft, {"to": "someone@acme.test"})
    failed = {r.document_id: r for r in list_sends(engine, failed_only=True)}
    assert "no recipient" in failed[no_email].error and "draft" in failed[draft].error
    assert smtp_server.messages == []
    # Given an address, the first one goes out.
    assert send_invoice(ctx, no_email, {"to": "ap@other.test", "request": "manual-2"}
                        ).delivered_now


def test_statement_is_sent_with_its_pdf(make_context, one_time_invoice, smtp_server,
                                        pdf_text_of):
    ctx = make_context(mail=mail_settings(smtp_server.port))
    outcome = send_statement(ctx, one_time_invoice.organisation_id, dt.date(2026, 1, 1),
                             dt.date(2026, 1, 31), "documents")
    assert outcome.delivered_now
    (message,) = smtp_server.messages
    assert message["Subject"] == "Statement Jan 1, 2026 – Jan 31, 2026 from Northwind IT Services"
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "Invoiced: $864.80; paid: $0.00; unpaid: $864.80." in body
    (attachment,) = list(message.iter_attachments())
    text = re.sub(r"\s+", " ", pdf_text_of(attachment.get_content()))
    assert "Jan 5, 2026 Invoice 2026010042 unpaid $864.80 $0.00 $864.80" in text
    # The same statement asked for again is not sent twice.
    again = send_statement(ctx, one_time_invoice.organisation_id, dt.date(2026, 1, 1),
                           dt.date(2026, 1, 31), "documents")
    assert not again.delivered_now and len(smtp_server.messages) == 1


def test_password_is_a_secret_reference_never_plain_text(make_settings, monkeypatch):
    from pydantic import ValidationError

    from hub.customer_docs.mailer import Mailer

    with pytest.raises(ValidationError, match="env"):
        make_settings(mail={"password": "hunter2"})
    settings = make_settings(mail={"username": "u", "password": {"env": "DOC_TEST_SMTP_PW"}})
    monkeypatch.setenv("DOC_TEST_SMTP_PW", "s3cret")
    assert Mailer.from_settings(settings.mail)._password == "s3cret"
    assert settings.redacted()["mail"]["password"] == {"env": "DOC_TEST_SMTP_PW"}


@pytest.mark.postgres
def test_send_is_recorded_once_on_postgresql(hub_postgres_url, make_settings, build,
                                             smtp_server, pdf_text_of):
    from hub.host.context import HubContext
    from hub.db.engine import make_engine
    from hub.db.models import metadata
    from hub.host.plugins import build_plugin_host

    engine = make_engine(hub_postgres_url)
    try:
        metadata.create_all(engine)
        with session_scope(engine) as session:
            org = build.organisation(session)
            invoice_id = build.invoice(session, org, [
                {"description": "Managed services", "unit_price": "99.95", "tax_rate": "8.875"}],
                number="2026040001", status="unpaid", issue_date=dt.date(2026, 4, 1),
                due_date=dt.date(2026, 4, 15)).id
        ctx = HubContext(settings=make_settings(mail=mail_settings(smtp_server.port)),
                         engine=engine, plugins=build_plugin_host([], load_entry_points=False))
        assert send_invoice(ctx, invoice_id, {}).delivered_now
        assert not send_invoice(ctx, invoice_id, {}).delivered_now
        (message,) = smtp_server.messages
        (attachment,) = list(message.iter_attachments())
        text = re.sub(r"\s+", " ", pdf_text_of(attachment.get_content()))
        # 99.95 at 8.875 % = 8.870... -> 8.87; total 108.82, exact on PostgreSQL too.
        assert "Tax 8.875% $8.87" in text and "Total $108.82" in text
        (record,) = list_sends(engine)
        assert record.status == SendStatus.sent and record.attempts == 1
    finally:
        engine.dispose()


def test_credit_note_is_sent_by_kind_once(make_context, one_time_invoice, engine, smtp_server,
                                          pdf_text_of):
    from decimal import Decimal

    from hub.db.models import CreditNote
    from hub.customer_docs.sending import send_document

    with session_scope(engine) as session:
        note = CreditNote(organisation_id=one_time_invoice.organisation_id,
                          number="CN2026000002", invoice_id=one_time_invoice.invoice_id,
                          date=dt.date(2026, 1, 22), subtotal=Decimal("100.00"),
                          total=Decimal("100.00"))
        session.add(note)
        session.flush()
        note_id = note.id
    ctx = make_context(mail=mail_settings(smtp_server.port))
    assert send_document(ctx, "credit_note", note_id, {}).delivered_now
    assert not send_document(ctx, "credit_note", note_id, {}).delivered_now  # job ran again
    (message,) = smtp_server.messages
    assert message["Subject"] == "Credit note CN2026000002 from Northwind IT Services"
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "credit note CN2026000002 dated Jan 22, 2026 for $100.00, crediting invoice " \
           "2026010042" in body
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == "credit-note-CN2026000002.pdf"
    assert "Total credited $100.00" in re.sub(r"\s+", " ", pdf_text_of(attachment.get_content()))
    with pytest.raises(PermanentError, match="kind 'payment'"):
        send_document(ctx, "payment", 1, {})


@pytest.mark.parametrize("to", ["x" * 600 + "@acme.example", "<x>@y.com", "ap@acme co.uk",
                                "ap@", "Ann <ann@acme.example>, bob"])
def test_a_recipient_that_is_not_an_address_is_refused_before_anything_is_queued(to):
    """The admin's and the CLI's "send to" go through the mailer's recipients, by the rules
    of the organisation e-mail (hub.validation.fields.check_email): a 600-character name or
    ``<x>@y.com`` was queued, to fail in the worker; ``ap@`` was dropped (the send went to the
    organisation's address) and ``ap@acme co.uk`` sent to ``ap@acmeco.uk``."""
    from hub.customer_docs.mailer import parse_recipients

    with pytest.raises(PermanentError, match="not an email address"):
        parse_recipients(to)
    assert parse_recipients('Ann <ann@acme.example>, "Doe, Bob" <bob@acme.example>; '
                            'carol@acme.example') == [
        "ann@acme.example", "bob@acme.example", "carol@acme.example"]
