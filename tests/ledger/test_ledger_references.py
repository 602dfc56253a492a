"""Naming an invoice (or a credit note) by number or id: an all-digit number that is another
invoice's id is refused, naming both, instead of quietly taking the number (a tester recorded a
payment against the wrong invoice). ``id:N`` always means the id; unambiguous references work
as before."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import select

from hub.db.models import CreditNote, OutboxEntry, Payment
from hub.errors import NotFound, ValidationFailed
from hub.ledger import find_credit_note, find_invoice, queue_reminders
from hub.testing.snapshots import cli_rows


def test_a_number_that_is_another_invoices_id_is_refused_naming_both(session, make_invoice):
    first = make_invoice("100")
    second = make_invoice("50", number=str(first.id))  # its number is the first one's id
    with pytest.raises(ValidationFailed) as refused:
        find_invoice(session, str(first.id))
    message = refused.value.user_message()
    assert f"invoice number {first.id} (id {second.id})" in message
    assert f"invoice id {first.id} (number {first.number})" in message
    assert f"id:{second.id}" in message and f"id:{first.id}" in message
    assert "\n" not in message
    assert find_invoice(session, f"id:{first.id}") is first
    assert find_invoice(session, f"id:{second.id}") is second
    assert find_invoice(session, f" ID:{first.id}".strip()) is first


def test_unambiguous_references_work_as_before(session, make_invoice):
    first = make_invoice("100")
    second = make_invoice("50", number="777")
    assert find_invoice(session, first.number) is first
    assert find_invoice(session, "777") is second  # no invoice has id 777: the number
    assert find_invoice(session, str(second.id)) is second  # no invoice has that number: id
    assert find_invoice(session, second.id) is second
    third = make_invoice("10", number=str(second.id + 1))  # its number is its own id
    assert find_invoice(session, str(third.id)) is third


@pytest.mark.parametrize("ref,error,words", [
    ("id:x", ValidationFailed, "write id: and the invoice's id"),
    ("id:", ValidationFailed, "e.g. id:5"),
    ("id:999", NotFound, "no invoice with id 999"),
    ("id:99999999999999999999", NotFound, "no invoice with id"),
    ("\u00b2", NotFound, "no invoice with number or id"),  # isdigit() is true, int() refuses
    ("99999999999999999999", NotFound, "no invoice with number or id"),
])
def test_bad_references_are_one_line_refusals(session, make_invoice, ref, error, words):
    make_invoice("100")
    with pytest.raises(error) as refused:
        find_invoice(session, ref)
    assert words in refused.value.user_message()


def test_credit_notes_are_named_the_same_way(session, org, make_invoice):
    from hub.ledger import CreditLine, create_credit_note

    first = create_credit_note(session, organisation_id=org.id, lines=[CreditLine("a", "5")],
                               date=dt.date(2026, 3, 2))
    second = create_credit_note(session, organisation_id=org.id, lines=[CreditLine("b", "6")],
                                date=dt.date(2026, 3, 2))
    second.number = str(first.id)
    session.add(second)
    session.flush()
    with pytest.raises(ValidationFailed, match=f"credit note number {first.id} "
                                               f"\\(id {second.id}\\)"):
        find_credit_note(session, str(first.id))
    assert find_credit_note(session, f"id:{first.id}") is first
    assert find_credit_note(session, first.number) is first
    assert session.exec(select(CreditNote)).all()


def test_reminders_find_their_invoice_when_its_number_is_another_invoices_id(
        session, org, make_invoice):
    # The reminder names the second invoice "1", which is also the first one's id.
    first = make_invoice("100", issue=dt.date(2026, 2, 1))
    second = make_invoice("50", issue=dt.date(2026, 3, 1), number=str(first.id))
    queued = queue_reminders(session, dt.date(2026, 3, 8), [7])
    assert queued == [second.id]
    [row] = session.exec(select(OutboxEntry).where(OutboxEntry.effect == "send")).all()
    assert row.document_id == second.id


# ------------------------------------------------------------------------------ the CLI
@pytest.fixture
def hub(hub_cli):
    """The CLI on a database with two finalised invoices; the second is renumbered "1", the
    first one's id."""
    for args in (["org", "create", "Acme"],
                 ["invoice", "create", "1"], ["invoice", "add-line", "1", "--description",
                                                 "Support", "--price", "100"],
                 ["invoice", "finalise", "1"],
                 ["invoice", "create", "1"], ["invoice", "add-line", "2", "--description",
                                                 "Setup", "--price", "40"],
                 ["invoice", "finalise", "2"], ["ledger", "edit", "2", "--number", "1"]):
        code, _, err = hub_cli(*args)
        assert code == 0, (args, err)
    return hub_cli


def _payments(tmp_path) -> list[tuple[int, str]]:
    from hub.db.engine import make_engine
    from sqlmodel import Session

    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'hub.sqlite'}")
    try:
        with Session(engine) as s:
            return [(p.invoice_id, str(p.amount)) for p in s.exec(select(Payment))]
    finally:
        engine.dispose()


@pytest.mark.parametrize("args", [
    ["ledger", "mark-paid", "1"],
    ["ledger", "links", "1"],
    ["payment", "add", "1", "100", "--invoice", "1"],
    ["payment", "add", "1", "100", "--allocate", "1=100"],
    ["credit-note", "create", "--invoice", "1", "--whole"],
])
def test_cli_refuses_an_ambiguous_invoice_and_stores_nothing(hub, tmp_path, args):
    before = cli_rows(tmp_path)
    code, _, err = hub(*args)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and "Traceback" not in err
    assert len(lines) == 1 and lines[0].startswith("error: '1' is ambiguous"), err
    assert "id:2 for the first or id:1 for the second" in lines[0]
    assert cli_rows(tmp_path) == before


def test_cli_pays_the_invoice_the_user_names(hub, tmp_path):
    code, out, err = hub("ledger", "mark-paid", "id:1")
    assert code == 0, err
    code, out, err = hub("ledger", "mark-paid", "2")  # no invoice is numbered "2": id 2
    assert code == 0, err
    assert sorted(_payments(tmp_path)) == [(1, "100.0000"), (2, "40.0000")]


@pytest.mark.parametrize("args, refusal", [
    (["payment", "add", "1", "140", "--allocate", "id:1=100", "--allocate", "id:1=40"],
     "names 'id:1' twice"),
    (["payment", "add", "1", "140", "--allocate", "202601000001=100", "--allocate",
      "id:1=40"], "names invoice id 1 twice"),  # its number and its id: one invoice
    (["ledger", "edit", "id:1", "--number", "ID:7"], "starts with 'id:'"),
])
def test_cli_refuses_one_invoice_named_twice_or_numbered_like_an_id(hub, tmp_path, args,
                                                                     refusal):
    """One amount used to replace the other silently (the rest became account credit); a
    number "id:7" could never be found by its number."""
    before = cli_rows(tmp_path)
    code, _, err = hub(*args)
    assert code == 2 and refusal in err and "Traceback" not in err, err
    assert cli_rows(tmp_path) == before


def test_cli_help_names_the_id_form(hub):
    for command in (["ledger", "mark-paid"], ["payment", "add"], ["credit-note", "apply"],
                    ["pdf", "invoice"]):
        code, out, _ = hub(*command, "--help")
        assert code == 0 and "id:N always means id N" in " ".join(out.split()), command
