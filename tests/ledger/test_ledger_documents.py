"""Seed 002 (Splynx): deletion, edits, credit notes, statements, links, overdue, calendar."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from sqlmodel import select

from hub.db.models import (
    FutureItem, Invoice, InvoiceKind, InvoiceStatus, OutboxEntry, Transaction,
)
from hub.errors import DocumentDeleted, DocumentLocked, EditNotAllowed
from hub.ledger import (
    CreditLine, account_summary, add_transaction, apply_credit_note, balance, calendar_view,
    cancel_last_recurring_invoice, create_credit_note, delete_completely, edit_invoice,
    find_overdue, links_of_credit_note, links_of_invoice, mark_deleted, record_payment, reminders,
    set_account_config, statement,
)

DAY = dt.date(2026, 3, 5)
NOW = dt.datetime(2026, 3, 5, 12, tzinfo=dt.timezone.utc)


def _auto(session, invoice_id):
    return session.exec(select(Transaction).where(Transaction.invoice_id == invoice_id,
                                                  Transaction.category == "auto")).all()


# ------------------------------------------------------------------------------ deletion
def test_mark_as_deleted_removes_auto_transaction_keeps_manual_one(session, org, make_invoice):
    inv = make_invoice("100")
    manual = add_transaction(session, org.id, side="debit", amount="15", date=DAY,
                             invoice_id=inv.id, description="added to the invoice")
    result = mark_deleted(session, inv.id, when=NOW)
    assert inv.status == InvoiceStatus.deleted and _auto(session, inv.id) == []
    assert result.kept_manual_transactions == [manual.id]
    assert session.get(Transaction, manual.id) is not None
    assert balance(session, org.id) == D("-15")


def test_deleted_invoice_never_returns_to_unpaid(session, org, make_invoice):
    inv = make_invoice("100")
    mark_deleted(session, inv.id, when=NOW)
    with pytest.raises(EditNotAllowed, match="already marked as deleted"):
        mark_deleted(session, inv.id, when=NOW)
    with pytest.raises(DocumentDeleted, match="never returns to unpaid"):
        edit_invoice(session, inv.id, {"memo": "x"}, today=DAY)
    with pytest.raises(DocumentDeleted):
        create_credit_note(session, invoice_id=inv.id, whole=True, date=DAY)
    delete_completely(session, inv.id, today=DAY)  # the only action left
    assert session.get(Invoice, inv.id) is None


def test_mark_as_deleted_applies_only_to_unpaid_invoices(session, org, make_invoice):
    inv = make_invoice("100")
    record_payment(session, org.id, "10", date=DAY, invoice_id=inv.id)
    with pytest.raises(EditNotAllowed, match="only an invoice with nothing applied") as err:
        mark_deleted(session, inv.id, when=NOW)
    assert "credit note" in err.value.user_message()


def test_delete_completely_refuses_a_paid_invoice_like_mark_deleted(session, org, make_invoice):
    # One rule for both deletions (seed 002): an invoice with money applied is credited.
    inv = make_invoice("100")
    record_payment(session, org.id, "60", date=DAY, invoice_id=inv.id)
    with pytest.raises(EditNotAllowed) as err:
        delete_completely(session, inv.id, today=DAY)
    assert "credit note" in err.value.user_message()
    assert balance(session, org.id) == D("-40")
    assert account_summary(session, org.id)["credit"] == D("0")


def _with_future_item(session, org, make_invoice):
    inv = make_invoice("130", kind=InvoiceKind.recurring)  # service charge 100 + future item 30
    item = FutureItem(organisation_id=org.id, description="router", amount=D("30"),
                      invoice_id=inv.id, taken_amount=D("30"), used=True, created_on=DAY)
    session.add(item)
    session.flush()
    return inv, item


def test_delete_completely_keeps_the_future_item_for_manual_removal(session, org, make_invoice):
    inv, item = _with_future_item(session, org, make_invoice)
    result = delete_completely(session, inv.id, today=DAY)
    session.refresh(item)
    assert (item.invoice_id, item.used) == (None, False)  # waiting again; removed only by hand
    assert result.released_future_items == [item.id]
    assert any("can only be removed manually" in w for w in result.warnings)
    assert balance(session, org.id) == 0


def test_cancel_last_recurring_invoice_warns_when_it_has_more_than_the_service_charge(
        session, org, make_invoice):
    make_invoice("100", kind=InvoiceKind.recurring, issue=dt.date(2026, 2, 1))
    last, _ = _with_future_item(session, org, make_invoice)
    result = cancel_last_recurring_invoice(session, org.id, today=DAY)
    assert result.invoice_id == last.id
    assert "not only the service charge" in result.warnings[0]
    assert session.get(Invoice, last.id) is None


def test_delete_removes_pending_push_of_the_invoice(session, org, make_invoice):
    inv = make_invoice("100")
    session.add(OutboxEntry(effect="push", document_kind="invoice", document_id=inv.id,
                            connection="xero"))
    session.flush()
    mark_deleted(session, inv.id, when=NOW)
    assert session.exec(select(OutboxEntry)).all() == []


def test_synced_invoice_cannot_be_deleted_credit_it_instead(session, org, make_invoice):
    inv = make_invoice("100")
    inv.locked_at, inv.locked_by = NOW, "xero"
    with pytest.raises(DocumentLocked, match="cannot be deleted") as err:
        mark_deleted(session, inv.id, when=NOW)
    assert "credit note" in err.value.user_message()
    with pytest.raises(DocumentLocked):
        delete_completely(session, inv.id, today=DAY)
    assert len(_auto(session, inv.id)) == 1


# ------------------------------------------------------------------------------ edits
def test_unpaid_invoice_lines_can_be_edited_and_reposted(session, org, make_invoice):
    inv = make_invoice("100")
    edit_invoice(session, inv.id, {"lines": [
        {"description": "support", "quantity": "2", "unit_price": "40", "tax_rate": "10"}]},
        today=DAY)
    assert (inv.subtotal, inv.tax_total, inv.total) == (D("80.00"), D("8.00"), D("88.00"))
    assert [t.amount for t in _auto(session, inv.id)] == [D("88.00")]
    assert balance(session, org.id) == D("-88.00")


def test_partially_paid_invoice_allows_dates_and_number_not_items(session, org, make_invoice):
    inv = make_invoice("100")
    record_payment(session, org.id, "10", date=DAY, invoice_id=inv.id)
    edit_invoice(session, inv.id, {"number": "X-1", "due_date": "2026-04-30", "note": "n"},
                 today=DAY)
    assert inv.number == "X-1"
    with pytest.raises(EditNotAllowed):
        edit_invoice(session, inv.id, {"lines": [{"description": "a", "unit_price": "1"}]},
                     today=DAY)
    assert inv.total == D("100")


# ------------------------------------------------------------------------------ credit notes
def test_credit_note_for_a_paid_invoice_corrects_the_balance(session, org, make_invoice):
    inv = make_invoice("100")
    record_payment(session, org.id, "100", date=DAY, invoice_id=inv.id)
    note = create_credit_note(session, invoice_id=inv.id,
                              lines=[CreditLine("billing error", "25")], date=DAY)
    assert inv.status == InvoiceStatus.paid and inv.total == D("100")  # total never altered
    assert balance(session, org.id) == D("25")  # the -Credit increases the balance
    assert links_of_credit_note(session, note.id) == {
        "against_invoice": inv.id, "against_invoice_number": inv.number, "invoices": []}


def test_credit_note_part_of_unpaid_invoice_then_rest_applied_elsewhere(session, org, make_invoice):
    a, b = make_invoice("40"), make_invoice("50")
    note = create_credit_note(session, invoice_id=a.id, lines=[CreditLine("x", "40")],
                              date=DAY, apply=False)
    assert a.status == InvoiceStatus.unpaid
    apply_credit_note(session, note.id, a.id, "15", today=DAY)
    apply_credit_note(session, note.id, b.id, today=DAY)
    assert a.amount_due == D("25") and b.amount_due == D("25")
    assert [c["number"] for c in links_of_invoice(session, a.id)["credit_notes"]] == [note.number]


def test_credit_note_whole_invoice_with_lines_and_standalone(session, org, make_invoice):
    inv = make_invoice("90", lines=3)
    note = create_credit_note(session, invoice_id=inv.id, whole=True, date=DAY)
    assert note.total == D("90") and inv.status == InvoiceStatus.paid
    standalone = create_credit_note(session, organisation_id=org.id, date=DAY,
                                    lines=[CreditLine("goodwill", "10")])
    assert standalone.invoice_id is None and account_summary(session, org.id)["credit"] == 10
    with pytest.raises(Exception, match="not yet credited"):
        create_credit_note(session, invoice_id=inv.id, lines=[CreditLine("x", "1")], date=DAY)


def test_a_credit_line_credits_a_line_of_the_credited_invoice_only(session, org, make_invoice):
    from hub.db.models import InvoiceLine
    from hub.errors import ValidationFailed

    ours, theirs = make_invoice("90", lines=3), make_invoice("50", lines=1)
    [their_line] = session.exec(select(InvoiceLine.id).where(
        InvoiceLine.invoice_id == theirs.id)).all()
    for kwargs in ({"invoice_id": ours.id}, {"organisation_id": org.id}):
        with pytest.raises(ValidationFailed, match="invoice line"):
            create_credit_note(session, date=DAY, **kwargs,
                               lines=[CreditLine("x", "10", invoice_line_id=their_line)])
    own_line = session.exec(select(InvoiceLine.id).where(
        InvoiceLine.invoice_id == ours.id)).first()
    note = create_credit_note(session, invoice_id=ours.id, date=DAY,
                              lines=[CreditLine("x", "10", invoice_line_id=own_line)])
    assert note.total == D("10")


def test_credit_note_writes_outbox_push(session, org, make_invoice):
    inv = make_invoice("10")
    note = create_credit_note(session, invoice_id=inv.id, whole=True, date=DAY, push_to=["xero"])
    row = session.exec(select(OutboxEntry)).one()
    assert (row.document_kind, row.document_id, row.connection) == ("credit_note", note.id, "xero")


# ------------------------------------------------------------------------------ statements
def test_statement_of_documents_and_transactions(session, org, make_invoice):
    paid = make_invoice("120", issue=dt.date(2026, 3, 1))
    part = make_invoice("100", issue=dt.date(2026, 3, 2))
    make_invoice("30", issue=dt.date(2026, 3, 3))
    gone = make_invoice("99", issue=dt.date(2026, 3, 3))
    make_invoice("5", issue=dt.date(2026, 2, 1))  # before the period
    record_payment(session, org.id, "120", date=DAY, invoice_id=paid.id)
    record_payment(session, org.id, "40", date=DAY, invoice_id=part.id)
    mark_deleted(session, gone.id, when=NOW)
    st = statement(session, org.id, dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    t = st.totals
    assert (t.invoiced.amount, t.paid.amount, t.unpaid.amount) == (D("250"), D("160"), D("90"))
    assert (t.invoiced_count, t.paid_count, t.unpaid_count) == (3, 2, 2)
    assert [d.kind for d in st.documents].count("payment") == 2
    tx = statement(session, org.id, dt.date(2026, 3, 1), dt.date(2026, 3, 31), "transactions")
    assert tx.opening_balance.amount == D("-5")
    assert tx.closing_balance.amount == balance(session, org.id) == D("-95")  # 160 - 255


# ------------------------------------------------------------------------------ overdue, calendar
def test_overdue_is_found_once(session, org, make_invoice):
    inv = make_invoice("100", issue=dt.date(2026, 3, 1), due=dt.date(2026, 3, 15))
    record_payment(session, org.id, "10", date=DAY, invoice_id=inv.id)
    assert find_overdue(session, dt.date(2026, 3, 15)) == []
    found = find_overdue(session, dt.date(2026, 3, 18))
    assert [(i.id, days) for i, days in found] == [(inv.id, 3)]
    assert inv.status == InvoiceStatus.overdue
    assert find_overdue(session, dt.date(2026, 3, 19)) == []


def test_calendar_view_and_reminders(session, org, make_invoice):
    set_account_config(session, org.id, minimum_balance="-50", block_on_weekends="true",
                       block_on_holidays="true")
    inv = make_invoice("100", issue=dt.date(2026, 4, 1), due=dt.date(2026, 4, 15))
    record_payment(session, org.id, "60", date=dt.date(2026, 4, 1), invoice_id=inv.id)
    view = calendar_view(session, org.id, today=dt.date(2026, 4, 2))
    assert view.next_billing.block_date == dt.date(2026, 4, 16)
    assert view.block_state == "in the next billing cycle"  # -40 is above -50
    got = reminders(session, org.id, [7, 14], today=dt.date(2026, 4, 2))
    assert [r.send_on for r in got] == [dt.date(2026, 4, 8), dt.date(2026, 4, 15)]


def test_reminders_are_queued_once_on_their_day(session, org, make_invoice):
    from hub.ledger import queue_reminders

    inv = make_invoice("100", issue=dt.date(2026, 3, 1), due=dt.date(2026, 3, 31))
    paid = make_invoice("50", issue=dt.date(2026, 3, 1), due=dt.date(2026, 3, 31))
    record_payment(session, org.id, "50", date=DAY, invoice_id=paid.id)
    assert queue_reminders(session, dt.date(2026, 3, 7), [7, 14]) == []
    assert queue_reminders(session, dt.date(2026, 3, 8), [7, 14]) == [inv.id]
    assert queue_reminders(session, dt.date(2026, 3, 8), [7, 14]) == []
    row = session.exec(select(OutboxEntry)).one()
    assert (row.effect, row.generation, row.payload) == ("send", 7, {"request": "reminder-7"})
