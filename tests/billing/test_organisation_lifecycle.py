"""An organisation's name is its own, and a retired one takes nothing new until it is
reactivated: through the API, and in the service functions the CLI calls."""

from __future__ import annotations

import datetime as dt

import pytest

from hub.billing.catalogue import add_future_item, create_organisation
from hub.billing.editing import reactivate_organisation, retire_organisation
from hub.billing.contracts import create_contract
from hub.billing.recurring import create_group, create_recurring
from hub.db.engine import session_scope
from hub.errors import EditNotAllowed, ValidationFailed
from hub.testing.snapshots import every_row
from hub.testing.api import api_client


@pytest.fixture
def client(ctx):
    with api_client(ctx, "lifecycle-test") as client:
        yield client


def test_a_second_organisation_of_the_same_name_is_refused_and_stores_nothing(client, ctx):
    first = client.post("/organisations", json={"name": "Acme Motors"}).json()
    other = client.post("/organisations", json={"name": "Acme Architects"}).json()
    before = _rows(ctx)
    for body in ({"name": "Acme Motors"}, {"name": "  acme MOTORS "}):
        refused = client.post("/organisations", json=body)
        assert refused.status_code == 422
        assert f"organisation {first['id']} is already named 'Acme Motors'" in \
            refused.json()["detail"]
    renamed = client.patch(f"/organisations/{other['id']}", json={"name": "ACME motors"})
    assert renamed.status_code == 422 and "already named" in renamed.json()["detail"]
    assert _rows(ctx) == before
    # its own name, in another case, is not another organisation's
    assert client.patch(f"/organisations/{first['id']}",
                        json={"name": "ACME Motors"}).status_code == 200


def test_a_retired_organisations_name_points_at_reactivating_it(ctx):
    with session_scope(ctx.engine) as s:
        org_id = create_organisation(s, "Delta Realty").id
        retire_organisation(s, org_id)
    with session_scope(ctx.engine) as s, pytest.raises(ValidationFailed) as refused:
        create_organisation(s, "Delta Realty")
    assert "(retired)" in str(refused.value)
    assert f"hub org reactivate {org_id}" in refused.value.hint


def test_a_retired_organisation_takes_no_new_invoice_until_reactivated(client, ctx):
    org = client.post("/organisations", json={"name": "Blue Logistics"}).json()
    assert client.post(f"/organisations/{org['id']}/retire").status_code == 200
    before = _rows(ctx)
    refused = client.post("/invoices", json={"organisation_id": org["id"],
                                             "issue_date": "2026-03-15"})
    assert refused.status_code == 409
    assert "is retired" in refused.json()["detail"]
    assert f"hub org reactivate {org['id']}" in refused.json()["detail"]
    assert _rows(ctx) == before

    again = client.post(f"/organisations/{org['id']}/reactivate")
    assert again.status_code == 200 and again.json()["active"] is True
    twice = client.post(f"/organisations/{org['id']}/reactivate")
    assert twice.status_code == 409 and "is not retired" in twice.json()["detail"]
    assert client.post("/invoices", json={"organisation_id": org["id"],
                                          "issue_date": "2026-03-15"}).status_code == 201
    assert client.post("/organisations/9999/reactivate").status_code == 404


def test_a_retired_organisation_takes_no_new_schedule_or_future_item(ctx):
    with session_scope(ctx.engine) as s:
        org_id = create_organisation(s, "Soylent").id
        retire_organisation(s, org_id)
    from hub.ledger.prebills import create_prebill

    for make in (lambda s: create_recurring(s, org_id, dt.date(2026, 4, 1)),
                 lambda s: add_future_item(s, org_id, "Setup", "50.00", dt.date(2026, 4, 1)),
                 lambda s: create_contract(s, org_id, "M365", dt.date(2026, 4, 1), cycles=3),
                 lambda s: create_group(s, org_id, "Monthly", dt.date(2026, 4, 1)),
                 lambda s: create_prebill(s, org_id, project="P", stage="S", stage_fee="1000",
                                          percent="50", issue_date=dt.date(2026, 4, 1))):
        with session_scope(ctx.engine) as s, pytest.raises(EditNotAllowed, match="retired"):
            make(s)
    with session_scope(ctx.engine) as s:
        reactivate_organisation(s, org_id)
        create_recurring(s, org_id, dt.date(2026, 4, 1))
        add_future_item(s, org_id, "Setup", "50.00", dt.date(2026, 4, 1))


def _rows(ctx):
    return every_row(ctx.engine)


def test_pulled_duplicates_keep_their_names_and_any_case_is_one_name(ctx):
    """Organisations pulled from a PSA (or made before names were checked) may share a name:
    each can still be edited while keeping it. Case is folded beyond ASCII too."""
    from hub.billing.editing import edit_organisation
    from hub.db.models import Organisation

    with session_scope(ctx.engine) as s:
        first = create_organisation(s, "Acme Motors").id
        s.add(Organisation(name="Acme Motors", currency="USD"))  # as a pull stores it
        s.flush()
        edit_organisation(s, first, {"name": "Acme Motors", "billing_day": 5})
        assert s.get(Organisation, first).billing_day == 5
        create_organisation(s, "Ünion Plumbing")
    with session_scope(ctx.engine) as s, pytest.raises(ValidationFailed, match="already named"):
        create_organisation(s, "ünion plumbing")
