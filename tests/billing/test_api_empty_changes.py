"""A ``PATCH`` with nothing in it (``{}``) changes nothing and says so: 422 "nothing to change"
naming the fields it takes, as the CLI's ``edit`` commands refuse to run without an option. No
audit event is written, and a mapping is not unmapped by an empty body (it once read as
``organisation_id: null``). A ``PATCH`` that resends the stored values is 200 with the record
as it is, and writes nothing either."""

from __future__ import annotations

import datetime as dt

import pytest

from hub.billing.catalogue import add_asset, add_contact, add_future_item, add_product
from hub.billing.contracts import create_contract
from hub.billing.recurring import add_recurring_line, create_group, create_recurring
from hub.db.engine import session_scope
from hub.db.models import Invoice, InvoiceLine, OrganisationMapping
from hub.errors import ValidationFailed
from hub.ledger import edit_invoice, post_invoice
from hub.testing.snapshots import every_row
from hub.testing.api import api_client


@pytest.fixture
def api(ctx):
    with api_client(ctx, "empty") as client:
        yield client


@pytest.fixture
def records(ctx, api):
    """One of every record a PATCH changes; returns their ids by kind."""
    org = api.post("/organisations", json={"name": "Acme"}).json()["id"]
    with session_scope(ctx.engine) as s:
        schedule = create_recurring(s, org, dt.date(2026, 3, 1))
        invoice = Invoice(organisation_id=org, number="INV-1", issue_date=dt.date(2026, 3, 1),
                          due_date=dt.date(2026, 3, 15), subtotal=100, total=100)
        s.add(invoice)
        s.flush()
        s.add(InvoiceLine(invoice_id=invoice.id, description="support", unit_price=100,
                          amount=100))
        post_invoice(s, invoice)
        mapping = OrganisationMapping(connection="psa", external_id="7", organisation_id=org)
        s.add(mapping)
        s.flush()
        made = {
            "organisations": org, "recurring": schedule.id, "ledger/invoices": invoice.id,
            "contacts": add_contact(s, org, "Ann").id, "assets": add_asset(s, org, "PC-1").id,
            "products": add_product(s, "WS", "Workstation", "30").code,
            "recurring-lines": add_recurring_line(s, recurring_id=schedule.id,
                                                  description="Backup", unit_price="20").id,
            "invoice-groups": create_group(s, org, "Monthly", dt.date(2026, 3, 1)).id,
            "future-items": add_future_item(s, org, "Setup", "50",
                                            created_on=dt.date(2026, 3, 1)).id,
            "contracts": create_contract(s, org, "Support", dt.date(2026, 3, 1)).id,
            "mappings": mapping.id,
        }
    return made


ROUTES = ["organisations", "contacts", "assets", "products", "recurring", "recurring-lines",
          "invoice-groups", "contracts", "future-items", "mappings", "ledger/invoices"]


@pytest.mark.parametrize("route", ROUTES)
def test_an_empty_patch_is_refused_and_writes_nothing(api, ctx, records, route):
    before = every_row(ctx.engine)
    answer = api.patch(f"/{route}/{records[route]}", json={})
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert "nothing to change" in detail and "at least one of" in detail, detail
    assert "\n" not in detail
    # No audit event, and for a mapping no unmapping: every table as it was.
    assert every_row(ctx.engine) == before


def test_a_real_change_is_still_made_and_audited(api, ctx, records):
    from sqlmodel import select

    from hub.db.models import AuditEvent

    answer = api.patch(f"/organisations/{records['organisations']}", json={"billing_day": 5})
    assert answer.status_code == 200 and answer.json()["billing_day"] == 5
    answer = api.patch(f"/mappings/{records['mappings']}", json={"organisation_id": None})
    assert answer.status_code == 200 and answer.json()["organisation_id"] is None
    with session_scope(ctx.engine) as s:
        actions = [e.action for e in s.exec(select(AuditEvent)).all()]
    assert "organisation.edited" in actions and "organisation_mapping.edited" in actions


def test_the_ledger_service_refuses_an_empty_invoice_edit(ctx, records):
    with session_scope(ctx.engine) as s:
        with pytest.raises(ValidationFailed) as refused:
            edit_invoice(s, records["ledger/invoices"], {}, today=dt.date(2026, 3, 2))
    assert "nothing to change" in refused.value.user_message()
    assert "memo" in refused.value.user_message()


#: A body of each route that resends values already stored (amounts typed as "30.00" for the
#: stored 30.0000; an invoice's items as they are, and no new extra field).
SAME = {
    "organisations": lambda r: {"name": "Acme", "billing_day": 1},
    "contacts": lambda r: {"name": "Ann"},
    "assets": lambda r: {"name": "PC-1", "status": "active"},
    "products": lambda r: {"name": "Workstation", "unit_price": "30.00"},
    "recurring": lambda r: {"name": "Recurring invoice"},
    "recurring-lines": lambda r: {"description": "Backup", "unit_price": "20", "filters": {}},
    "invoice-groups": lambda r: {"description": "Monthly"},
    "contracts": lambda r: {"name": "Support"},
    "future-items": lambda r: {"description": "Setup", "amount": "50.00"},
    "mappings": lambda r: {"organisation_id": r["organisations"]},
    "ledger/invoices": lambda r: {"extra_fields": {}, "issue_date": "2026-03-01", "lines": [
        {"description": "support", "unit_price": "100.00"}]},
}


@pytest.mark.parametrize("route", ROUTES)
def test_a_patch_of_the_stored_values_is_200_and_writes_nothing(api, ctx, records, route):
    before = every_row(ctx.engine)
    body = SAME[route](records)
    answer = api.patch(f"/{route}/{records[route]}", json=body)
    assert answer.status_code == 200, answer.text
    shown = answer.json()
    assert all(shown[k] == v for k, v in body.items() if k in ("name", "description")), shown
    # No audit event ("edited" with nothing changed), no row touched.
    assert every_row(ctx.engine) == before


def test_an_invoice_edit_to_the_stored_values_is_no_edit_in_the_service(ctx, records):
    from hub.validation.changes import nothing_changed

    with session_scope(ctx.engine) as s:
        edit_invoice(s, records["ledger/invoices"], {"extra_fields": {}},
                     today=dt.date(2026, 3, 2))
        assert nothing_changed(s)
        edit_invoice(s, records["ledger/invoices"], {"memo": "PO 7"}, today=dt.date(2026, 3, 2))
        assert not nothing_changed(s)
