"""Deleting a pre-bill's invoice and a draft outside any batch (hub/ledger/deletion.py).

- A pre-bill's invoice, marked as deleted or deleted completely, takes its pre-bill with it
  while no WIP is attached and the pre-bill is open (the stage can be pre-billed again); once
  WIP is attached or the pre-bill is closed, both are refused (409 / exit 2) with the way to
  correct it (a credit note), and nothing is stored. Before: a complete deletion crashed on the
  pre-bill's foreign key (HTTP 500, a traceback), a marked one left the pre-bill on a deleted
  invoice with its balance still open.
- A one-time or proforma draft made outside any batch can be deleted, both ways, and what it
  reserved (ticket charges, future items) is released; a draft of a preview batch still goes
  only with its batch; a proforma an invoice was converted from stays. Before: every draft was
  refused as "a draft in a preview batch".
"""

from __future__ import annotations

import json
import time

import pytest
from dramatiq.brokers.stub import StubBroker
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import func, select, update
from sqlmodel import Session

from hub import ConnectionType, PaymentEvent, PaymentEventKind, hookimpl, owns

from hub.db.engine import make_engine
from hub.db.models import (
    AuditEvent, FutureItem, InboxEvent, InboxStatus, Invoice, InvoiceStatus, LaborStatus,
    PreBill, TicketCharge, WipEntry,
)
from hub.jobs import JobSettings, build_runtime
from hub.web.app import create_app
from hub.web.tokens import create_token
from hub.testing.cli import real_cli
from hub.testing.snapshots import cli_rows, every_row

PREBILL = [
    ["org", "create", "Acme"],
    ["prebill", "create", "1", "--project", "Web", "--stage", "Build", "--fee", "1000",
     "--percent", "40", "--date", "2026-03-01"],
]


@pytest.fixture
def hub(tmp_path, monkeypatch, capsys):
    """The real CLI with organisation 1 and pre-bill 1 (invoice 1, 400.00, unpaid)."""
    with real_cli(tmp_path, monkeypatch, capsys, setup=PREBILL) as run:
        yield run


def _db(tmp_path):
    return make_engine(f"sqlite:///{tmp_path / 'data' / 'hub.sqlite'}")


def _count(tmp_path, model, *where) -> int:
    engine = _db(tmp_path)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(model).where(*where)).scalar()
    finally:
        engine.dispose()


def _invoice_status(tmp_path, invoice_id: int) -> str | None:
    engine = _db(tmp_path)
    try:
        with engine.connect() as conn:
            return conn.execute(select(Invoice.__table__.c.status)
                                .where(Invoice.__table__.c.id == invoice_id)).scalar()
    finally:
        engine.dispose()


# ------------------------------------------------------------------------ pre-bill invoices
@pytest.mark.parametrize("completely", [True, False])
def test_deleting_an_open_prebills_invoice_removes_the_prebill_too(hub, tmp_path, completely):
    args = ["ledger", "delete", "id:1"] + (["--completely"] if completely else [])
    code, out, err = hub(*args)
    assert code == 0, err
    assert "Traceback" not in out + err
    assert "pre-bill 1" in out and "`hub prebill create`" in out
    assert _count(tmp_path, PreBill) == 0
    assert _invoice_status(tmp_path, 1) == (None if completely else InvoiceStatus.deleted.value)
    # the stage is free again: a new pre-bill takes the stage's WIP
    code, _, err = hub("prebill", "create", "1", "--project", "Web", "--stage", "Build",
                       "--fee", "1000", "--percent", "50", "--date", "2026-03-02")
    assert code == 0, err
    assert hub("prebill", "wip", "1", "--project", "Web", "--stage", "Build", "--value", "100",
               "--date", "2026-03-03")[0] == 0
    code, out, err = hub("prebill", "attach", str(_only_prebill_id(tmp_path)), "--use", "exact")
    assert code == 0 and "attached 1 WIP" in out, err


def _only_prebill_id(tmp_path) -> int:
    engine = _db(tmp_path)
    try:
        with engine.connect() as conn:
            return conn.execute(select(PreBill.__table__.c.id)).scalar_one()
    finally:
        engine.dispose()


@pytest.mark.parametrize("completely", [True, False])
@pytest.mark.parametrize("used,why", [
    ([["prebill", "wip", "1", "--project", "Web", "--stage", "Build", "--value", "100",
       "--date", "2026-03-03"], ["prebill", "attach", "1", "--use", "exact"]], "has WIP attached"),
    ([["prebill", "close", "1"]], "is closed"),
])
def test_a_used_prebills_invoice_is_refused_and_nothing_is_stored(hub, tmp_path, completely,
                                                                   used, why):
    for args in used:
        assert hub(*args)[0] == 0
    before = cli_rows(tmp_path)
    args = ["ledger", "delete", "id:1"] + (["--completely"] if completely else [])
    code, out, err = hub(*args)
    assert code == 2, (out, err)
    assert "Traceback" not in out + err
    assert "pre-bill 1" in err and why in err
    assert "hub credit-note create --invoice" in err  # what to do instead
    assert cli_rows(tmp_path) == before


def _prebill(api) -> dict:
    org = api.post("/organisations", json={"name": "Acme"}).json()["id"]
    answer = api.post("/prebills", json={"organisation_id": org, "project": "Web",
                                         "stage": "Build", "stage_fee": "1000",
                                         "percent": "40"})
    assert answer.status_code == 201, answer.text
    return answer.json()


@pytest.mark.parametrize("completely", [True, False])
def test_api_deletes_an_open_prebills_invoice_with_its_prebill(api, api_ctx, completely):
    prebill = _prebill(api)
    answer = api.delete(f"/ledger/invoices/{prebill['invoice_id']}",
                        params={"completely": completely})
    assert answer.status_code == 200, answer.text
    assert answer.json()["released_prebill"] == prebill["id"]
    rows = every_row(api_ctx.engine)
    assert rows["prebill"] == []


def test_api_refuses_to_delete_a_prebills_invoice_with_wip_attached(api, api_ctx):
    prebill = _prebill(api)
    assert api.post("/wip", json={"organisation_id": prebill["organisation_id"],
                                  "project": "Web", "stage": "Build",
                                  "value": "100"}).status_code == 201
    assert api.post(f"/prebills/{prebill['id']}/attach",
                    json={"method": "all", "use": "exact"}).status_code == 200
    before = every_row(api_ctx.engine)
    for completely in (True, False):
        answer = api.delete(f"/ledger/invoices/{prebill['invoice_id']}",
                            params={"completely": completely})
        assert answer.status_code == 409, answer.text
        assert "has WIP attached" in answer.json()["detail"]
        assert "credit note" in answer.json()["detail"]
    assert every_row(api_ctx.engine) == before


class VoidingBooks:
    """A throwaway accounting plugin whose webhook says "this hub invoice was voided here"
    (``{"id": event id, "invoice_id": N}``), as Xero's and QuickBooks' do."""

    @hookimpl
    def hub_register_connection_types(self, register):
        register(ConnectionType("voiding_books", _NoSettings, frozenset({"payments"})))

    @hookimpl
    def hub_receive_payment(self, connection, request):
        if not owns(connection, "voiding_books"):
            return None
        data = json.loads(request.body)
        return [PaymentEvent(event_id=data["id"], kind=PaymentEventKind.invoice_voided,
                             object_id=f"X{data['invoice_id']}", occurred_at=request.received_at,
                             invoice_id=data["invoice_id"], status="VOIDED")]


class _NoSettings(BaseModel):
    pass


def _deliver_void(ctx, client, runtime, invoice_id: int) -> None:
    """The void's webhook, twice (a repeat changes nothing), applied by the inbox's worker."""
    body = json.dumps({"id": f"void-{invoice_id}", "invoice_id": invoice_id}).encode()
    for _ in range(2):
        assert client.post("/webhooks/books", content=body).status_code == 200
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with Session(ctx.engine) as s:
            if s.exec(select(InboxEvent.status)).scalar_one() != InboxStatus.pending:
                break
        time.sleep(0.05)
    runtime.worker.join()
    with Session(ctx.engine) as s:
        assert s.exec(select(InboxEvent.status)).scalar_one() == InboxStatus.processed


@pytest.mark.parametrize("used", [[], ["wip", "attach"], ["close"]],
                         ids=["open", "wip-attached", "closed"])
def test_a_prebills_invoice_voided_in_accounting_releases_the_prebill(make_hub_context, used):
    """A void received from accounting cannot be refused as a deletion by hand is (it already
    happened there): in every case the pre-bill goes with its invoice, attached WIP waits
    again, and the void is an audit event. Before: the pre-bill stayed on the deleted
    invoice, its revenue still offered to WIP."""
    ctx = make_hub_context(VoidingBooks(), connections=[
        {"name": "books", "plugin": "voiding_books", "settings": {}}])
    runtime = build_runtime(ctx, broker=StubBroker(),
                            settings=JobSettings(min_backoff_seconds=0.01, max_attempts=3))
    runtime.start_worker(2)
    try:
        with TestClient(create_app(ctx, runtime), headers={
                "Authorization": f"Bearer {create_token(ctx.engine, 'books')}"}) as client:
            prebill = _prebill(client)
            wip = {"organisation_id": prebill["organisation_id"], "project": "Web",
                   "stage": "Build", "value": "100"}
            calls = {"wip": lambda: client.post("/wip", json=wip),
                     "attach": lambda: client.post(f"/prebills/{prebill['id']}/attach",
                                                   json={"method": "all", "use": "exact"}),
                     "close": lambda: client.post(f"/prebills/{prebill['id']}/close")}
            for step in used:
                assert calls[step]().status_code in (200, 201), step
            with Session(ctx.engine) as s:  # synced: only the accounting system changes it
                s.exec(update(Invoice).values(locked_by="books", locked_at=func.now()))
                s.commit()
            _deliver_void(ctx, client, runtime, prebill["invoice_id"])
            rows = every_row(ctx.engine)
            assert rows["prebill"] == []
            with Session(ctx.engine) as s:
                assert s.get(Invoice, prebill["invoice_id"]).status == InvoiceStatus.deleted
                assert [(w.prebill_id, w.billed_value) for w in s.exec(select(WipEntry))
                        .scalars()] == ([(None, None)] if "wip" in used else [])
                events = {e.action: e for e in s.exec(select(AuditEvent)).scalars()}
            assert events["invoice.voided"].target_id == str(prebill["invoice_id"])
            assert events["prebill.removed"].detail["voided_in"] == "books"
            # the stage is free again, and its WIP waits for the new pre-bill
            again = client.post("/prebills", json={
                "organisation_id": prebill["organisation_id"], "project": "Web",
                "stage": "Build", "stage_fee": "1000", "percent": "40"})
            assert again.status_code == 201, again.text
            if "wip" in used:
                assert client.post(f"/prebills/{again.json()['id']}/attach", json={
                    "method": "all", "use": "exact"}).status_code == 200
    finally:
        runtime.close()


# ----------------------------------------------------------------------------------- drafts
def _draft(api, **body) -> tuple[int, int]:
    org = api.post("/organisations", json={"name": "Acme"}).json()["id"]
    answer = api.post("/invoices", json={"organisation_id": org, **body})
    assert answer.status_code == 201, answer.text
    invoice_id = answer.json()["id"]
    assert api.post(f"/invoices/{invoice_id}/lines",
                    json={"description": "Switch", "unit_price": "100"}).status_code == 201
    return org, invoice_id


@pytest.mark.parametrize("completely", [True, False])
@pytest.mark.parametrize("proforma", [False, True])
def test_api_deletes_a_draft_made_outside_any_batch(api, api_ctx, completely, proforma):
    _, invoice_id = _draft(api, proforma=proforma)
    answer = api.delete(f"/ledger/invoices/{invoice_id}", params={"completely": completely})
    assert answer.status_code == 200, answer.text
    assert api.get(f"/invoices/{invoice_id}").status_code == 404
    rows = every_row(api_ctx.engine)
    assert rows["invoice"] == [] and rows["invoiceline"] == []


def test_api_keeps_a_proforma_an_invoice_was_converted_from(api, api_ctx):
    _, proforma_id = _draft(api, proforma=True)
    assert api.post(f"/invoices/{proforma_id}/convert", json={}).status_code in (200, 201)
    before = every_row(api_ctx.engine)
    for completely in (True, False):
        answer = api.delete(f"/ledger/invoices/{proforma_id}", params={"completely": completely})
        assert answer.status_code == 409, answer.text
        assert "converted to invoice" in answer.json()["detail"]
    assert every_row(api_ctx.engine) == before


DRAFTS = [
    ["org", "create", "Acme"],
    ["org", "ticket", "1", "T-1", "Printer"],
    ["org", "ticket-charge", "1", "work", "--qty", "2", "--price", "50", "--charged"],
    ["org", "future-item", "1", "cabling", "30"],
    ["invoice", "from-ticket", "1"],
    ["invoice", "load-future-items", "1"],
]


@pytest.mark.parametrize("completely", [True, False])
def test_deleting_a_draft_releases_its_ticket_charges_and_future_items(
        tmp_path, monkeypatch, capsys, completely):
    with real_cli(tmp_path, monkeypatch, capsys, setup=DRAFTS) as hub:
        assert _count(tmp_path, TicketCharge, TicketCharge.invoice_line_id.is_not(None)) == 1
        assert _count(tmp_path, FutureItem, FutureItem.invoice_id.is_not(None)) == 1
        args = ["ledger", "delete", "id:1"] + (["--completely"] if completely else [])
        code, out, err = hub(*args)
        assert code == 0, err
        assert out.startswith("draft invoice 1 deleted") and "None" not in out
        assert _count(tmp_path, Invoice) == 0
        assert _count(tmp_path, TicketCharge, TicketCharge.invoice_line_id.is_(None),
                      TicketCharge.labor_status == LaborStatus.charged.value) == 1
        assert _count(tmp_path, FutureItem, FutureItem.invoice_id.is_(None),
                      FutureItem.taken_amount.is_(None), FutureItem.used.is_(False)) == 1
        # released: the ticket and the future item go into the next invoice again
        code, out, err = hub("invoice", "from-ticket", "1")
        assert code == 0, err
        assert hub("invoice", "load-future-items", "2")[0] == 0
        assert _count(tmp_path, FutureItem, FutureItem.invoice_id == 2) == 1


def test_a_draft_in_a_preview_batch_still_goes_only_with_its_batch(tmp_path, monkeypatch,
                                                                    capsys):
    setup = [["org", "create", "Acme"],
             ["recurring", "create", "1", "--start", "2026-03-01"],
             ["recurring", "add-line", "1", "--description", "Backup", "--price", "20"],
             ["bill", "preview", "--date", "2026-03-01"]]
    with real_cli(tmp_path, monkeypatch, capsys, setup=setup) as hub:
        before = cli_rows(tmp_path)
        for extra in ([], ["--completely"]):
            code, out, err = hub("ledger", "delete", "id:1", *extra)
            assert code == 2, (out, err)
            assert "draft in preview batch 1" in err and "`hub bill discard 1`" in err
        assert cli_rows(tmp_path) == before


@pytest.mark.postgres
def test_on_postgresql_a_prebills_invoice_and_a_draft_are_deleted_completely(hub_postgres_url):
    """PostgreSQL checks each foreign key at once, as SQLite does here: the pre-bill and the
    draft's lines go before the invoice they refer to."""
    import datetime as dt

    from sqlmodel import Session

    import hub.db.models as models
    from hub.db.models import InvoiceLine, Organisation
    from hub.ledger import create_prebill, delete_completely, mark_deleted

    day = dt.date(2026, 3, 1)
    engine = make_engine(hub_postgres_url)
    models.metadata.create_all(engine)
    try:
        with Session(engine, expire_on_commit=False) as s:
            org = Organisation(name="Acme")
            s.add(org)
            s.flush()
            first = create_prebill(s, org.id, project="Web", stage="Build", stage_fee="1000",
                                   percent="40", issue_date=day)
            second = create_prebill(s, org.id, project="Web", stage="Test", stage_fee="1000",
                                    percent="40", issue_date=day)
            draft = Invoice(organisation_id=org.id, issue_date=day, due_date=day)
            s.add(draft)
            s.flush()
            s.add(InvoiceLine(invoice_id=draft.id, description="Switch"))
            s.commit()
            assert delete_completely(s, first.invoice_id, today=day).released_prebill == first.id
            when = dt.datetime(2026, 3, 2, tzinfo=dt.timezone.utc)
            assert mark_deleted(s, second.invoice_id, when=when).released_prebill == second.id
            delete_completely(s, draft.id, today=day)
            s.commit()
            assert s.scalars(select(PreBill)).all() == []
            assert [i.status for i in s.scalars(select(Invoice))] == [InvoiceStatus.deleted]
    finally:
        engine.dispose()
