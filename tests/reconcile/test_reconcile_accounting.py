"""The accounting section's less common cases: a push whose outcome was lost, a document gone
from accounting, a push still queued, a window and a plugin that cannot list documents."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from hub.core.money import Money
from hub.db.engine import session_scope
from hub.db.models import Invoice, InvoiceStatus, OutboxEntry
from hub.contract.records import ExternalDocument
from hub.errors import PluginError
from hub.reconcile import NullProgress, Options, reconcile


def _accounting(scenario, **options):
    opts = Options(today=scenario.ctx.today(), **options)
    return list(reconcile(scenario.ctx, ["accounting"], opts, NullProgress()))


def _kinds(differences):
    return sorted((d.kind, d.document) for d in differences)


def test_reconcile_a_lost_push_outcome_is_one_difference_not_two(scenario):
    """INV-5 exists at the books (found by its number) but the hub never recorded the link:
    one `not_linked` difference with the re-push command, not `missing` plus `extra`."""
    scenario.systems.documents["books"].append(ExternalDocument(
        kind="invoice", external_id="X-5", number="INV-5", organisation_ref="C-GLOBEX",
        date=dt.date(2026, 2, 1), total=Money("120.00", "USD"), status="AUTHORISED"))
    found = {d.kind: d for d in _accounting(scenario)}
    assert "missing_in_accounting" not in found
    lost = found["not_linked"]
    assert lost.document == "invoice INV-5"
    assert lost.at_stake == Money("0", "USD")
    assert lost.fix == f"hub outbox repush invoice {scenario.ids['inv5']} --connection books"


def test_reconcile_reports_a_document_gone_from_accounting(scenario):
    books = scenario.systems.documents["books"]
    scenario.systems.documents["books"] = [d for d in books if d.external_id != "X-1"]
    found = {d.kind: d for d in _accounting(scenario)}
    gone = found["gone_from_accounting"]
    assert gone.document == "invoice INV-1"
    assert gone.at_stake == Money("516.00", "USD")


def test_reconcile_names_a_push_still_queued(scenario):
    with session_scope(scenario.ctx.engine) as s:
        inv = Invoice(organisation_id=scenario.ids["acme"], number="INV-6",
                      status=InvoiceStatus.unpaid, issue_date=dt.date(2026, 2, 20),
                      due_date=dt.date(2026, 3, 5), total=Decimal("9.99"),
                      subtotal=Decimal("9.99"))
        s.add(inv)
        s.flush()
        s.add(OutboxEntry(effect="push", document_kind="invoice", document_id=inv.id,
                          connection="books", attempts=2, last_error="429 Too Many Requests"))
    missing = [d for d in _accounting(scenario) if d.kind == "missing_in_accounting"]
    queued = next(d for d in missing if d.document == "invoice INV-6")
    assert "queued" in queued.cause and "429" in queued.cause
    assert queued.at_stake == Money("9.99", "USD")


def test_reconcile_window_keeps_linked_documents_found_outside_it(scenario):
    """Moved out of the window on the hub side, X-2 is still compared when the books list
    it in the window (it is linked), instead of showing as extra."""
    with session_scope(scenario.ctx.engine) as s:
        inv = s.get(Invoice, scenario.ids["inv2"])
        inv.issue_date = dt.date(2026, 1, 15)
        s.add(inv)
    found = _kinds(_accounting(scenario, since=dt.date(2026, 2, 1)))
    assert ("total_differs", "invoice INV-2") in found
    assert all(kind != "extra_in_accounting" or doc == "invoice MANUAL-7"
               for kind, doc in found)


def test_reconcile_refuses_a_plugin_that_cannot_list_documents(scenario):
    scenario.ctx.plugins.pm.unregister(scenario.systems)
    with pytest.raises(PluginError, match="cannot list invoices"):
        _accounting(scenario)


def test_reconcile_payments_outside_the_window_are_found_not_missing(scenario):
    """pi_1 (charge ch_1) is in the ledger dated before the window; the processor lists it
    inside: no 'missing in ledger' for it."""
    from hub.db.models.ledger import Payment

    with session_scope(scenario.ctx.engine) as s:
        payment = s.get(Payment, scenario.ids["p1"])
        payment.date = dt.date(2026, 1, 20)
        s.add(payment)
    opts = Options(today=scenario.ctx.today(), since=dt.date(2026, 2, 1))
    found = list(reconcile(scenario.ctx, ["payments"], opts, NullProgress()))
    assert not any("ch_1 " in d.document for d in found)
    assert {d.kind for d in found} == {"amount_differs", "charge_missing_in_ledger",
                                       "refund_missing_in_ledger", "dispute_missing_in_ledger",
                                       "no_processor_record"}


@pytest.mark.parametrize("chunk", [1, 2])
def test_reconcile_missing_documents_read_in_chunks_of_ids_are_all_found(scenario, monkeypatch,
                                                                         chunk):
    """On SQLite the missing documents' ids are read in chunks by a thread (one row per chunk)
    while the streams are compared: chunks smaller than the documents missing find exactly
    what the query read after the comparison finds, claimed documents (found at the other side
    under another key) left out."""
    from hub.reconcile import accounting, accounting_missing

    with session_scope(scenario.ctx.engine) as s:
        for n in range(6, 10):  # never pushed
            s.add(Invoice(organisation_id=scenario.ids["acme"], number=f"INV-{n}",
                          status=InvoiceStatus.unpaid, issue_date=dt.date(2026, 2, 20),
                          due_date=dt.date(2026, 3, 5), total=Decimal(f"{n}.00"),
                          subtotal=Decimal(f"{n}.00")))
    scenario.systems.documents["books"].append(ExternalDocument(  # INV-7: pushed, not linked
        kind="invoice", external_id="X-7", number="INV-7", organisation_ref="C-ACME",
        date=dt.date(2026, 2, 20), total=Money("7.00", "USD"), status="AUTHORISED"))
    monkeypatch.setattr(accounting, "BACKGROUND_AFTER", 10 ** 9)  # read after the comparison
    whole = [d.as_dict() for d in _accounting(scenario)]
    assert sorted(d["document"] for d in whole if d["kind"] == "missing_in_accounting") == [
        "invoice INV-5", "invoice INV-6", "invoice INV-8", "invoice INV-9"]
    assert [d["document"] for d in whole if d["kind"] == "not_linked"] == ["invoice INV-7"]
    monkeypatch.setattr(accounting_missing, "MISSING_CHUNK", chunk)
    monkeypatch.setattr(accounting, "BACKGROUND_AFTER", 0)  # in the background at once
    assert [d.as_dict() for d in _accounting(scenario)] == whole
