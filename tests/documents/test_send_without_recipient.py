"""A send with nowhere to go — no ``to``/``--to`` and an organisation without email — is
refused when it is asked for, with how to give an address, and nothing is queued: the queued
send used to be accepted (``POST /invoices/{id}/send`` 202, ``hub send invoice --queue`` exit
0) and then failed in the worker. Credit notes and statements are sent at once and refused
the same way, each naming the option its own command takes."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from hub.db.engine import session_scope
from hub.db.models import Organisation, OutboxEntry
from hub.testing.api import api_client
from hub.testing.cli import real_cli
from hub.testing.snapshots import cli_rows

SETUP = [
    ["org", "create", "Acme"],  # no --email
    ["invoice", "create", "1", "--date", "2026-03-01"],
    ["invoice", "add-line", "1", "--description", "Switch", "--price", "100"],
    ["invoice", "finalise", "1"],
]


@pytest.fixture
def hub(tmp_path, monkeypatch, capsys):
    """The real CLI over a hub with one final invoice of an organisation without email."""
    with real_cli(tmp_path, monkeypatch, capsys, setup=SETUP) as run:
        yield run


def _queued(tmp_path) -> list[str]:
    return cli_rows(tmp_path)[OutboxEntry.__tablename__]


def test_the_cli_refuses_to_queue_a_send_with_no_recipient(hub, tmp_path):
    before = cli_rows(tmp_path)
    code, out, err = hub("send", "invoice", "id:1", "--queue")
    assert code == 2, (out, err)
    assert "has no recipient: the organisation has no email" in err
    assert "--to ADDRESS" in err and "`hub org edit 1 --email ADDRESS`" in err
    assert "queued" not in out and "Traceback" not in err
    assert cli_rows(tmp_path) == before  # nothing queued, nothing recorded


def test_the_cli_queues_once_an_address_is_given_or_set(hub, tmp_path):
    before = len(_queued(tmp_path))
    code, out, err = hub("send", "invoice", "id:1", "--queue", "--to", "ap@acme.test")
    assert code == 0 and "queued (outbox" in out, err
    assert hub("org", "edit", "1", "--email", "ap@acme.test")[0] == 0
    code, out, err = hub("send", "invoice", "id:1", "--queue")
    assert code == 0 and "queued (outbox" in out, err
    assert len(_queued(tmp_path)) == before + 2


def test_sending_a_credit_note_with_no_recipient_names_to(hub):
    assert hub("credit-note", "create", "--invoice", "id:1", "--whole", "--reason", "x")[0] == 0
    code, _, err = hub("send", "credit-note", "id:1")
    assert code == 4, err
    assert "has no recipient" in err
    assert "pass --to ADDRESS, or set the organisation's email with `hub org edit 1 --email " \
           "ADDRESS`" in err


def test_sending_a_statement_with_no_recipient_names_its_email_option(hub):
    # `hub send statement` takes recipients with --email; its --to is the period's last day.
    code, _, err = hub("send", "statement", "1", "--from", "2026-03-01", "--to", "2026-03-31")
    assert code == 4, err
    assert "the statement of Acme has no recipient" in err
    assert "pass --email ADDRESS, or set the organisation's email with `hub org edit 1 " \
           "--email ADDRESS`" in err
    assert "--to ADDRESS" not in err


@pytest.fixture
def no_email_invoice(engine, build) -> int:
    """A final invoice of an organisation without email."""
    with session_scope(engine) as session:
        org = build.organisation(session, name="Quiet Ltd", email=None)
        invoice = build.invoice(session, org, [{"description": "Switch", "unit_price": "100"}],
                                number="2026030001", status="unpaid",
                                issue_date=dt.date(2026, 3, 1), due_date=dt.date(2026, 3, 15))
        return invoice.id


def _outbox(engine) -> list[OutboxEntry]:
    with session_scope(engine) as session:
        return list(session.execute(select(OutboxEntry)).scalars())


def test_the_api_refuses_to_queue_a_send_with_no_recipient(make_context, engine,
                                                           no_email_invoice):
    with api_client(make_context()) as api:
        path = f"/invoices/{no_email_invoice}/send"
        for body in ({}, {"to": []}, None):
            answer = api.post(path, json=body)
            assert answer.status_code == 422, (body, answer.text)
            refusal = answer.json()
            assert refusal["error"] == "ValidationFailed"
            assert "invoice 2026030001 has no recipient" in refusal["detail"]
            assert "`to`" in refusal["detail"] and "hub org edit" in refusal["detail"]
        assert _outbox(engine) == []

        assert api.post(path, json={"to": ["ap@quiet.test"]}).status_code == 202
        with session_scope(engine) as session:
            session.execute(select(Organisation)).scalar_one().email = "ap@quiet.test"
        assert api.post(path, json={}).status_code == 202
    payloads = [row.payload.get("to") for row in _outbox(engine)]
    assert payloads == [["ap@quiet.test"], None]


def test_the_queued_send_refusal_is_the_services_own(engine, no_email_invoice):
    """The admin page queues through the same function: it refuses there too."""
    from hub.customer_docs.sending import queue_invoice_send
    from hub.errors import ValidationFailed

    with pytest.raises(ValidationFailed, match="has no recipient"):
        queue_invoice_send(engine, no_email_invoice)
    assert _outbox(engine) == []
