"""Billing runs end to end on SQLite: preview (drafts) → confirm (final), pro-rata from the
service start (seed 002 examples A and B), a batch previewed for a future date, counters with
provenance and per-line changes (seed 000), exactly once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlmodel import select

from hub.billing import confirm, discard, preview
from hub.billing.catalogue import create_organisation
from hub.billing.recurring import add_recurring_line, create_recurring
from hub.db.engine import session_scope
from hub.db.models import BillingBatch, Invoice, InvoiceLine, OutboxEntry, RecurringInvoice
from hub.errors import EditNotAllowed

D = dt.date


def _invoices(ctx, batch_id):
    with session_scope(ctx.engine) as s:
        invoices = s.exec(select(Invoice).where(Invoice.batch_id == batch_id)
                          .order_by(Invoice.id)).all()
        return [(i, s.exec(select(InvoiceLine).where(InvoiceLine.invoice_id == i.id)
                           .order_by(InvoiceLine.position)).all()) for i in invoices]


def _internet(ctx, first_run, auto_bill=False):
    with session_scope(ctx.engine) as s:
        org = create_organisation(s, "Acme Ltd")
        schedule = create_recurring(s, org.id, D(2026, 3, 15), name="Internet 100",
                                    billing_day=1, first_run=first_run, auto_bill=auto_bill)
        add_recurring_line(s, recurring_id=schedule.id, description="Internet 100 Mbit",
                           unit_price="45.00")
        return org.id, schedule.id


def test_splynx_example_a_invoice_in_march_then_april(ctx):
    """Service start 15 March, billing day 1: the March invoice bills 15–31 March
    (17/31 × 45.00 = 24.68), the next one 1–30 April (45.00)."""
    _, schedule_id = _internet(ctx, first_run="start")
    march = preview(ctx, D(2026, 3, 15))
    [(invoice, lines)] = _invoices(ctx, march.batch_id)
    assert (invoice.period_start, invoice.period_end) == (D(2026, 3, 15), D(2026, 3, 31))
    assert [(l.amount, l.prorata_note) for l in lines] == [
        (Decimal("24.68"), "15 Mar 2026–31 Mar 2026: 17/31 days of 01 Mar 2026–31 Mar 2026")]
    assert invoice.total == Decimal("24.68") and invoice.number is None
    confirm(ctx, march.batch_id)
    april = preview(ctx, D(2026, 4, 1))
    [(invoice, lines)] = _invoices(ctx, april.batch_id)
    assert (invoice.period_start, invoice.period_end) == (D(2026, 4, 1), D(2026, 4, 30))
    assert [(l.amount, l.prorata_note) for l in lines] == [(Decimal("45.00"), None)]
    confirm(ctx, april.batch_id)
    with session_scope(ctx.engine) as s:
        schedule = s.get(RecurringInvoice, schedule_id)
        assert (schedule.covered_from, schedule.next_run_date) == (D(2026, 5, 1), D(2026, 5, 1))


def test_splynx_example_b_first_invoice_in_april_bills_15_march_to_30_april(ctx):
    _internet(ctx, first_run="next")
    assert preview(ctx, D(2026, 3, 31)).invoices == 0  # nothing due in March
    batch = preview(ctx, D(2026, 4, 1))
    [(invoice, lines)] = _invoices(ctx, batch.batch_id)
    assert (invoice.period_start, invoice.period_end) == (D(2026, 3, 15), D(2026, 4, 30))
    assert [(l.period_start, l.period_end, l.amount) for l in lines] == [
        (D(2026, 3, 15), D(2026, 3, 31), Decimal("24.68")),
        (D(2026, 4, 1), D(2026, 4, 30), Decimal("45.00"))]
    assert invoice.total == Decimal("69.68")


def test_splynx_april_batch_previewed_on_25_march_then_confirmed(ctx, clock):
    """Seed 002: on 25 March, preview with date 1 April; nothing is final until confirmed."""
    clock.set("2026-03-25T10:00:00+00:00")
    _internet(ctx, first_run="next", auto_bill=True)
    batch = preview(ctx, D(2026, 4, 1))
    [(draft, _)] = _invoices(ctx, batch.batch_id)
    assert (draft.status.value, draft.number, draft.issue_date) == ("draft", None, D(2026, 4, 1))
    with session_scope(ctx.engine) as s:
        assert s.exec(select(OutboxEntry)).all() == []
        stored = s.get(BillingBatch, batch.batch_id)
        assert (stored.status.value, stored.run_date) == ("preview", D(2026, 4, 1))
    done = confirm(ctx, batch.batch_id)
    assert done.invoices == 1
    [(final, _)] = _invoices(ctx, batch.batch_id)
    assert (final.status.value, final.number) == ("unpaid", "202601000001")
    assert final.id == draft.id and final.total == draft.total
    with session_scope(ctx.engine) as s:
        effects = sorted((o.effect.value, o.connection) for o in s.exec(select(OutboxEntry)))
    assert effects == [("charge", "pay"), ("push", "books")]
    ledger = pytest.importorskip("hub.db.models.ledger")
    with session_scope(ctx.engine) as s:  # the ledger's debit, written in the same transaction
        debit = s.exec(select(ledger.Transaction).where(
            ledger.Transaction.invoice_id == final.id)).one()
        assert debit.amount == final.total
    with pytest.raises(EditNotAllowed, match="already confirmed"):
        confirm(ctx, batch.batch_id)


def test_a_second_preview_for_the_same_date_makes_no_duplicate(ctx):
    _internet(ctx, first_run="next")
    first = preview(ctx, D(2026, 4, 1))
    second = preview(ctx, D(2026, 4, 1))
    assert (first.invoices, second.invoices) == (1, 0)
    assert second.notes == [f"schedule:1 from 15 Mar 2026: already in preview batch {first.batch_id}"]
    discard(ctx, first.batch_id)
    third = preview(ctx, D(2026, 4, 1))
    assert third.invoices == 1
    confirm(ctx, third.batch_id)
    assert preview(ctx, D(2026, 4, 1)).invoices == 0  # schedule advanced to 1 May


def test_missed_periods_are_caught_up_one_invoice_each(ctx):
    _internet(ctx, first_run="next")
    batch = preview(ctx, D(2026, 6, 1))
    periods = [(i.period_start, i.period_end) for i, _ in _invoices(ctx, batch.batch_id)]
    assert periods == [(D(2026, 3, 15), D(2026, 4, 30)), (D(2026, 5, 1), D(2026, 5, 31)),
                       (D(2026, 6, 1), D(2026, 6, 30))]


def test_syncro_asset_counter_and_7_dollar_remote_access_user_counter(ctx, counters):
    """Seed 000: bill per managed device, and $7.00 per contact with remote access enabled;
    the change from last month names the devices added."""
    with session_scope(ctx.engine) as s:
        org = create_organisation(s, "Globex")
        schedule = create_recurring(s, org.id, D(2026, 3, 1), billing_day=1)
        add_recurring_line(s, recurring_id=schedule.id, line_type="asset_counter",
                           description="Managed workstation", unit_price="30.00",
                           filters={"asset_type": ["workstation"]})
        add_recurring_line(s, recurring_id=schedule.id, line_type="user_counter",
                           description="Splashtop Work From Home", unit_price="7.00",
                           filters={"attributes.remote_access": True})
        add_recurring_line(s, recurring_id=schedule.id, description="Backup", unit_price="15.00")
        org_id = org.id
    counters.devices[org_id] = [
        {"ref": "rmm:dev:1", "label": "PC-01", "asset_type": "workstation"},
        {"ref": "rmm:dev:2", "label": "PC-02", "asset_type": "workstation"},
        {"ref": "rmm:dev:9", "label": "SRV-01", "asset_type": "server"}]
    counters.users[org_id] = [
        {"ref": "psa:c:1", "label": "Ann", "remote_access": True},
        {"ref": "psa:c:2", "label": "Bob", "remote_access": False},
        {"ref": "psa:c:3", "label": "Cy", "remote_access": True}]
    march = preview(ctx, D(2026, 3, 1))
    [(invoice, lines)] = _invoices(ctx, march.batch_id)
    assert [(l.description, l.quantity, l.amount) for l in lines] == [
        ("Managed workstation", Decimal(2), Decimal("60.00")),
        ("Splashtop Work From Home", Decimal(2), Decimal("14.00")),
        ("Backup", Decimal(1), Decimal("15.00"))]
    assert [p["label"] for p in lines[1].provenance] == ["Ann", "Cy"]
    assert {l.change for l in lines} == {"first invoice"}
    confirm(ctx, march.batch_id)
    counters.devices[org_id] += [
        {"ref": f"rmm:dev:{n}", "label": f"PC-0{n}", "asset_type": "workstation"}
        for n in (3, 4, 5)]
    april = preview(ctx, D(2026, 4, 1))
    [(invoice, lines)] = _invoices(ctx, april.batch_id)
    assert lines[0].quantity == 5 and lines[0].amount == Decimal("150.00")
    assert lines[0].change == "+3 devices: PC-03, PC-04, PC-05"
    assert lines[1].change is None and lines[2].change is None
    assert invoice.total == Decimal("179.00")


def test_a_failing_counter_leaves_its_schedules_out_and_names_them(ctx, counters):
    """A counter that raises does not stop the run: each schedule it could not count is left
    out of the batch with the organisation, the agreement and the reason; nothing half-made."""
    with session_scope(ctx.engine) as s:
        for name in ("First", "Second"):
            org = create_organisation(s, name)
            schedule = create_recurring(s, org.id, D(2026, 3, 1))
            add_recurring_line(s, recurring_id=schedule.id, line_type="asset_counter",
                               description="Devices", unit_price="10.00")

    def broken(*_args, **_kwargs):
        raise RuntimeError("RMM exploded")

    counters._answer = broken
    summary = preview(ctx, D(2026, 3, 1))
    assert summary.invoices == 0
    assert [(i["organisation"], i["agreement"]) for i in summary.left_out] == [
        ("First", "recurring invoice 1"), ("Second", "recurring invoice 2")]
    assert all("RMM exploded" in i["reason"] for i in summary.left_out)
    with session_scope(ctx.engine) as s:
        assert s.exec(select(Invoice)).all() == []
        [batch] = s.exec(select(BillingBatch)).all()
        assert batch.status.value == "preview" and len(batch.left_out) == 2


def test_inactive_schedules_and_organisations_are_not_billed(ctx):
    from hub.db.models import Organisation

    org_id, schedule_id = _internet(ctx, first_run="next")
    with session_scope(ctx.engine) as s:
        s.get(RecurringInvoice, schedule_id).active = False
    assert preview(ctx, D(2026, 4, 1)).invoices == 0
    with session_scope(ctx.engine) as s:
        s.get(RecurringInvoice, schedule_id).active = True
        s.get(Organisation, org_id).active = False
    assert preview(ctx, D(2026, 4, 1)).invoices == 0


def test_an_invoice_deleted_completely_gives_its_period_back_to_the_schedule(ctx):
    """Splynx's "Cancel last recurring invoice": after the ledger deletes it, the next run
    bills the same period again (delete_completely rewinds the schedule)."""
    _, schedule_id = _internet(ctx, first_run="next")
    batch = preview(ctx, D(2026, 4, 1))
    confirm(ctx, batch.batch_id)
    ledger = pytest.importorskip("hub.ledger")
    with session_scope(ctx.engine) as s:
        invoice = s.exec(select(Invoice)).one()
        ledger.delete_completely(s, invoice.id, today=D(2026, 4, 2))
        schedule = s.get(RecurringInvoice, schedule_id)
        assert (schedule.covered_from, schedule.next_run_date) == (D(2026, 3, 15), D(2026, 4, 1))
    again = preview(ctx, D(2026, 4, 1))
    [(invoice, _)] = _invoices(ctx, again.batch_id)
    assert (invoice.period_start, invoice.total) == (D(2026, 3, 15), Decimal("69.68"))
