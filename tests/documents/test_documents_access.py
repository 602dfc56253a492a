"""How people reach the documents: ``hub pdf ...``/``hub send ...`` and the REST API."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from dramatiq.brokers.stub import StubBroker
from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.db.engine import session_scope
from hub.db.models import OutboxEntry
from hub.db.models.sync import Effect


@pytest.fixture
def config_file(tmp_path, engine):
    """hub.toml pointing at the test database, with the test company."""
    path = tmp_path / "hub.toml"
    path.write_text(
        f'database_url = "{engine.url.render_as_string(hide_password=False)}"\n'
        f'data_dir = "{(tmp_path / "data").as_posix()}"\n'
        "[company]\n"
        'name = "Northwind IT Services"\n'
        'locale = "en_GB"\n')
    return path


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_hub_pdf_invoice_writes_the_pdf(config_file, one_time_invoice, tmp_path, pdf_text_of):
    from hub.cli.main import main

    out = tmp_path / "out.pdf"
    assert main(["--config", str(config_file), "pdf", "invoice",
                 str(one_time_invoice.invoice_id), "-o", str(out)]) == 0
    text = squash(pdf_text_of(out.read_bytes()))
    assert "Invoice number 2026010042" in text
    # en_GB from hub.toml: day-month dates, and a US dollar amount says so.
    assert "Invoice date 5 Jan 2026" in text
    assert "Total US$864.80" in text


def test_hub_invoice_pdf_and_sends_on_the_invoice_command(config_file, one_time_invoice,
                                                          tmp_path, engine, pdf_text_of, capsys):
    import json

    from hub.cli.main import main
    from hub.db.models import DocumentSend

    out = tmp_path / "inv.pdf"
    assert main(["--config", str(config_file), "invoice", "pdf",
                 str(one_time_invoice.invoice_id), "-o", str(out)]) == 0
    assert "Invoice number 2026010042" in squash(pdf_text_of(out.read_bytes()))
    with session_scope(engine) as session:
        session.add(DocumentSend(document_kind="invoice", document_id=one_time_invoice.invoice_id,
                                 request_key="auto", reference="2026010042", to="ap@acme.test",
                                 subject="Invoice 2026010042", status="failed", attempts=12,
                                 error="SMTP server answered 554 rejected"))
    capsys.readouterr()
    assert main(["--config", str(config_file), "invoice", "sends",
                 str(one_time_invoice.invoice_id), "--json"]) == 0
    (shown,) = json.loads(capsys.readouterr().out)
    assert shown["status"] == "failed" and shown["attempts"] == 12
    assert shown["error"] == "SMTP server answered 554 rejected"


def test_hub_pdf_statement_and_errors(config_file, one_time_invoice, tmp_path, pdf_text_of,
                                      capsys):
    from hub.cli.main import main

    folder = tmp_path / "statements"
    folder.mkdir()
    assert main(["--config", str(config_file), "pdf", "statement",
                 str(one_time_invoice.organisation_id), "--from", "2026-01-01",
                 "--to", "2026-01-31", "--mode", "documents", "-o", str(folder)]) == 0
    (written,) = folder.iterdir()
    assert "Invoice 2026010042 unpaid" in squash(pdf_text_of(written.read_bytes()))

    capsys.readouterr()
    assert main(["--config", str(config_file), "pdf", "statement", "1", "--from", "01/01/2026",
                 "--to", "2026-01-31"]) == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err
    assert main(["--config", str(config_file), "pdf", "invoice", "999"]) == 2
    assert "no invoice with number or id 999" in capsys.readouterr().err


def test_hub_pdf_templates_copies_them_for_editing(config_file, tmp_path, capsys):
    from hub.cli.main import main

    target = tmp_path / "tpl"
    assert main(["--config", str(config_file), "pdf", "templates", "--copy", str(target)]) == 0
    assert (target / "invoice.html").is_file() and (target / "mail" / "invoice.body.txt").is_file()
    (target / "invoice.html").write_text("edited")
    assert main(["--config", str(config_file), "pdf", "templates", "--copy", str(target)]) == 0
    assert (target / "invoice.html").read_text() == "edited"  # never overwritten


def test_hub_send_invoice_queue_writes_an_outbox_row(config_file, one_time_invoice, engine):
    from hub.cli.main import main

    assert main(["--config", str(config_file), "send", "invoice",
                 str(one_time_invoice.invoice_id), "--queue", "--to", "ap@acme.test"]) == 0
    assert main(["--config", str(config_file), "send", "invoice",
                 str(one_time_invoice.invoice_id), "--queue"]) == 0
    with session_scope(engine) as session:
        rows = session.execute(select(OutboxEntry).order_by(OutboxEntry.id)).scalars().all()
    assert [(r.effect, r.connection, r.generation) for r in rows] == [
        (Effect.send, "hub", 0), (Effect.send, "hub", 1)]
    assert rows[0].payload["to"] == ["ap@acme.test"] and "to" not in rows[1].payload
    assert rows[0].payload["request"] != rows[1].payload["request"]


@pytest.fixture
def api(make_context):
    from hub.jobs import build_runtime
    from hub.web.app import create_app
    from hub.web.tokens import create_token

    ctx = make_context()
    runtime = build_runtime(ctx, broker=StubBroker())
    token = create_token(ctx.engine, "documents-test")
    with TestClient(create_app(ctx, runtime)) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        yield client
    runtime.broker.close()


def test_get_invoice_pdf(api, one_time_invoice, pdf_text_of):
    response = api.get(f"/invoices/{one_time_invoice.invoice_id}.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == 'inline; filename="invoice-2026010042.pdf"'
    text = squash(pdf_text_of(response.content))
    assert "Invoice number 2026010042" in text and "Amount due $864.80" in text
    download = api.get(f"/invoices/{one_time_invoice.invoice_id}.pdf?download=true")
    assert download.headers["content-disposition"].startswith("attachment;")


def test_pdf_routes_need_a_token_and_known_ids(api, one_time_invoice):
    anonymous = api.get(f"/invoices/{one_time_invoice.invoice_id}.pdf",
                        headers={"Authorization": ""})
    assert anonymous.status_code == 401
    missing = api.get("/invoices/999.pdf")
    assert missing.status_code == 404 and "does not exist" in missing.json()["detail"]
    assert api.get("/credit-notes/999.pdf").status_code == 404


def test_get_credit_note_pdf(api, one_time_invoice, engine, pdf_text_of):
    from decimal import Decimal

    from hub.db.models import CreditNote

    with session_scope(engine) as session:
        note = CreditNote(organisation_id=one_time_invoice.organisation_id, number="CN2026000001",
                          invoice_id=one_time_invoice.invoice_id, date=dt.date(2026, 1, 20),
                          subtotal=Decimal("50.00"), total=Decimal("50.00"))
        session.add(note)
        session.flush()
        note_id = note.id
    response = api.get(f"/credit-notes/{note_id}.pdf")
    assert response.status_code == 200
    text = squash(pdf_text_of(response.content))
    assert "Credit note number CN2026000001" in text and "Total credited $50.00" in text


def test_get_statement_pdf_and_invoice_sends(api, one_time_invoice, pdf_text_of):
    org = one_time_invoice.organisation_id
    response = api.get(f"/organisations/{org}/statement.pdf",
                       params={"start": "2026-01-01", "end": "2026-01-31", "mode": "transactions"})
    assert response.status_code == 200
    assert "Opening balance" in squash(pdf_text_of(response.content))
    bad = api.get(f"/organisations/{org}/statement.pdf",
                  params={"start": "2026-02-01", "end": "2026-01-01"})
    assert bad.status_code == 422

    queued = api.post(f"/invoices/{one_time_invoice.invoice_id}/send",
                      json={"to": ["ap@acme.test"]})
    assert queued.status_code == 202 and queued.json()["status"] == "queued"
    assert api.get(f"/invoices/{one_time_invoice.invoice_id}/sends").json() == []


def test_a_send_that_would_fail_is_refused_when_asked_for(api, engine, one_time_invoice):
    from hub.db.models import Invoice

    path = f"/invoices/{one_time_invoice.invoice_id}/send"
    for body in ({"too": ["ap@acme.test"]}, {"to": ["not-an-email"]}, {"to": "ap@acme.test"}):
        answer = api.post(path, json=body)
        assert answer.status_code == 422 and answer.json()["error"] == "ValidationFailed", body
    assert api.get("/invoices/99999/sends").status_code == 404
    with session_scope(engine) as session:
        session.get(Invoice, one_time_invoice.invoice_id).status = "draft"
    draft = api.post(path, json={})
    assert draft.status_code == 409 and "is a draft" in draft.json()["detail"]
    with session_scope(engine) as session:
        assert session.execute(select(OutboxEntry)).scalars().all() == []  # nothing queued


def test_hub_send_invoice_and_statement_now(tmp_path, engine, one_time_invoice, smtp_server,
                                            capsys):
    from hub.cli.main import main

    config = tmp_path / "send.toml"
    config.write_text(
        f'database_url = "{engine.url.render_as_string(hide_password=False)}"\n'
        f'data_dir = "{(tmp_path / "data").as_posix()}"\n'
        "[company]\n"
        'name = "Northwind IT Services"\n'
        "[mail]\n"
        'host = "127.0.0.1"\n'
        f"port = {smtp_server.port}\n"
        'security = "none"\n'
        'from_address = "billing@northwind.test"\n')
    assert main(["--config", str(config), "send", "invoice", str(one_time_invoice.invoice_id),
                 "--to", "ap@acme.test", "--to", "cfo@acme.test"]) == 0
    assert "sent invoice 2026010042 to ap@acme.test, cfo@acme.test" in capsys.readouterr().out
    assert main(["--config", str(config), "send", "statement",
                 str(one_time_invoice.organisation_id), "--from", "2026-01-01",
                 "--to", "2026-01-31", "--mode", "transactions"]) == 0
    assert "sent statement 2026-01-01..2026-01-31 transactions to ap@acme.test" in \
        capsys.readouterr().out
    invoice_mail, statement_mail = smtp_server.messages
    assert invoice_mail["To"] == "ap@acme.test, cfo@acme.test"
    assert statement_mail["Subject"].startswith("Statement Jan 1, 2026 – Jan 31, 2026")
    body = statement_mail.get_body(preferencelist=("plain",)).get_content()
    assert "Closing balance:" in body


def test_hub_pdf_statement_by_named_period(config_file, one_time_invoice, tmp_path, capsys):
    from hub.cli.main import main

    out = tmp_path / "st.pdf"
    assert main(["--config", str(config_file), "pdf", "statement",
                 str(one_time_invoice.organisation_id), "--period", "last-month",
                 "-o", str(out)]) == 0
    assert out.read_bytes().startswith(b"%PDF")
    capsys.readouterr()
    assert main(["--config", str(config_file), "pdf", "statement", "1"]) == 2
    assert "needs a period" in capsys.readouterr().err
    assert main(["--config", str(config_file), "pdf", "statement", "1", "--period",
                 "last-month", "--from", "2026-01-01"]) == 2
    assert "not both" in capsys.readouterr().err
