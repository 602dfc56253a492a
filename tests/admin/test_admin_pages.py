"""The pages without a browser: each loads for each role, bad input is a page that says what
is wrong (never a 500), `/docs` loads nothing from the internet, organisation edits and
dismissals are audited, and a dismissed finding comes back when its figures move."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hub import audit
from hub.billing.catalogue import create_organisation
from hub.db.engine import session_scope
from hub.db.models import AuditEvent, Organisation
from hub.db.models.findings import Finding, ReconcileRun
from hub.errors import ValidationFailed
from hub.web.admin.findings_store import dismiss, findings_query, stake_rank
from hub.web.admin.once import new_key
from hub.web.admin.rendering import NAVIGATION

from .conftest import csrf_of


@pytest.fixture
def org_id(admin_ctx) -> int:
    with session_scope(admin_ctx.engine) as session:
        return create_organisation(session, "Acme Dental", email="ap@acme.example").id


@pytest.mark.parametrize("username", ["ann", "alice", "victor"])
def test_every_page_of_the_navigation_loads_for_every_role(client_as, org_id, username):
    client = client_as(username)
    for path, _ in NAVIGATION:
        response = client.get(f"/admin{path}")
        expected = 403 if path == "/users" and username != "ann" else 200
        assert response.status_code == expected, path
    assert client.get(f"/admin/organisations/{org_id}").status_code == 200


def test_the_root_opens_the_admin(admin_app):
    response = TestClient(admin_app).get("/", follow_redirects=False)
    assert response.status_code == 307 and response.headers["location"] == "/admin/"


def test_docs_and_pages_load_nothing_from_the_internet(admin_app, client_as):
    client = TestClient(admin_app)
    docs = client.get("/docs").text
    pages = client_as("ann").get("/admin/").text
    for html in (docs, pages):
        assert not re.search(r'(src|href)="(https?:)?//', html), html
        for asset in re.findall(r'(?:src|href)="(/admin/static/[^"]+)"', html) + \
                re.findall(r"url: '(/openapi.json)'", html):
            assert client.get(asset).status_code == 200, asset
    assert "/admin/static/vendor/swagger-ui-bundle.js" in docs


@pytest.mark.parametrize("path,data,message", [
    ("/admin/runs", {"run_date": "next tuesday"}, "is not a date"),
    ("/admin/invoices/999/payments", {"amount": "12,x"}, "is not a number"),
    ("/admin/invoices/999/payments", {"amount": "12.00", "once_key": new_key()},
     "no invoice 999"),
    ("/admin/findings/run", {}, "unknown or no sections"),
    ("/admin/users", {"username": "eve", "password": "short", "role": "viewer"},
     "shorter than"),
    ("/admin/users", {"username": "eve", "password": "long enough pw", "role": "boss"},
     "unknown role"),
])
def test_bad_form_input_is_a_page_that_says_what_is_wrong(client_as, path, data, message):
    client = client_as("ann")
    token = csrf_of(client.get("/admin/").text)
    response = client.post(path, data={"csrf_token": token, **data})
    assert 400 <= response.status_code < 500
    assert message in response.text
    assert "Traceback" not in response.text


def test_bad_query_input_and_missing_documents_are_pages_too(client_as):
    client = client_as("victor")
    for path in ("/admin/invoices?page=two", "/admin/runs/12345", "/admin/invoices/77",
                 "/admin/organisations/5/statement?start=yesterday"):
        response = client.get(path)
        assert 400 <= response.status_code < 500, path
        assert "<h1>" in response.text and "Traceback" not in response.text


def test_a_preview_with_nothing_due_says_so_on_the_runs_page(client_as):
    client = client_as("ann")
    token = csrf_of(client.get("/admin/runs").text)
    response = client.post("/admin/runs", data={"csrf_token": token, "run_date": "1990-01-01"})
    assert response.status_code == 200 and str(response.url).endswith("/admin/runs?done="
                                                                      "Nothing+is+due+on+or+before+1990-01-01")
    assert "Nothing is due on or before 1990-01-01" in response.text


def test_a_value_the_database_refuses_is_a_page_not_the_apis_json(client_as, monkeypatch):
    """A form value its rules let through and the database refuses (a NUL on PostgreSQL)
    answers with the admin's page saying so, as the API answers it with a 422."""
    import hub.billing
    from sqlalchemy.exc import DataError

    def refused(*args, **kwargs):
        raise DataError("INSERT ...", {}, Exception("invalid byte sequence 0x00"))

    monkeypatch.setattr(hub.billing, "preview", refused)
    client = client_as("ann")
    token = csrf_of(client.get("/admin/runs").text)
    response = client.post("/admin/runs", data={"csrf_token": token, "run_date": "2026-01-01"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "cannot be stored (invalid byte sequence 0x00); nothing was stored" in response.text
    assert "<h1>Please check the form</h1>" in response.text


def test_an_organisation_edit_is_audited_with_its_changes(admin_ctx, client_as, org_id):
    client = client_as("alice")
    token = csrf_of(client.get(f"/admin/organisations/{org_id}").text)
    response = client.post(f"/admin/organisations/{org_id}", data={
        "csrf_token": token, "name": "Acme Dental Group", "email": "ap@acme.example",
        "billing_day": "15", "payment_due_days": "", "active": "1"}, follow_redirects=False)
    assert response.status_code == 303
    with session_scope(admin_ctx.engine) as session:
        assert session.get(Organisation, org_id).billing_day == 15
        event = session.execute(select(AuditEvent).where(
            AuditEvent.action == "organisation.edited")).scalar_one()
        assert event.actor == "user:alice" and event.via == "web"
        # as the CLI and the API write it: each field from what, to what
        assert {k: v["to"] for k, v in event.detail.items()} == {
            "name": "Acme Dental Group", "billing_day": 15}
    page = client.get(f"/admin/organisations/{org_id}").text
    assert "Acme Dental Group" in page and "organisation.edited" in page
    again = client.post(f"/admin/organisations/{org_id}", data={
        "csrf_token": token, "name": "Acme Dental Group", "email": "ap@acme.example",
        "billing_day": "15", "payment_due_days": "", "active": "1"}, follow_redirects=False)
    assert again.headers["location"].endswith("done=Nothing+changed")
    retire = client.post(f"/admin/organisations/{org_id}", data={
        "csrf_token": token, "name": "Acme Dental Group", "email": "ap@acme.example",
        "billing_day": "15", "payment_due_days": ""}, follow_redirects=False)
    assert retire.headers["location"].endswith("done=Saved")
    with session_scope(admin_ctx.engine) as session:
        assert not session.get(Organisation, org_id).active
        assert [e.action for e in session.execute(select(AuditEvent).where(
            AuditEvent.target_type == "organisation").order_by(AuditEvent.id)).scalars()][-2:] \
            == ["organisation.edited", "organisation.retired"]


@pytest.mark.parametrize("field, value, refusal", [
    ("name", "N" * 10_000, "name"), ("name", "   ", "name"),
    ("email", "not-an-email", "is not an e-mail address"),
    ("billing_day", "31", "billing_day"), ("payment_due_days", "many", "payment_due_days")])
def test_the_organisation_form_refuses_what_the_api_refuses(admin_ctx, client_as, org_id,
                                                            field, value, refusal):
    client = client_as("alice")
    token = csrf_of(client.get(f"/admin/organisations/{org_id}").text)
    form = {"csrf_token": token, "name": "Acme Dental Group", "email": "ap@acme.example",
            "billing_day": "15", "payment_due_days": "", "active": "1", field: value}
    response = client.post(f"/admin/organisations/{org_id}", data=form, follow_redirects=False)
    assert response.status_code == 422, response.status_code
    assert refusal in response.text and "Traceback" not in response.text
    with session_scope(admin_ctx.engine) as session:
        assert session.get(Organisation, org_id).billing_day != 15  # nothing was saved


def test_the_organisation_form_refuses_another_organisations_name(admin_ctx, client_as,
                                                                   org_id):
    with session_scope(admin_ctx.engine) as session:
        other = create_organisation(session, "Blue Logistics").id
    client = client_as("alice")
    token = csrf_of(client.get(f"/admin/organisations/{org_id}").text)
    form = {"csrf_token": token, "name": " blue LOGISTICS", "email": "ap@acme.example",
            "billing_day": "15", "payment_due_days": "", "active": "1"}
    response = client.post(f"/admin/organisations/{org_id}", data=form, follow_redirects=False)
    assert response.status_code == 422, response.status_code
    assert f"organisation {other} is already named" in response.text
    with session_scope(admin_ctx.engine) as session:
        assert session.get(Organisation, org_id).billing_day != 15  # nothing was saved


def test_the_audit_trail_is_append_only(admin_ctx):
    with session_scope(admin_ctx.engine) as session:
        audit.record(session, "test.done", "thing", 1)
    with pytest.raises(ValidationFailed, match="append-only"):
        with session_scope(admin_ctx.engine) as session:
            row = session.execute(select(AuditEvent)).scalars().first()
            row.summary = "rewritten"
    with pytest.raises(ValidationFailed, match="append-only"):
        with session_scope(admin_ctx.engine) as session:
            session.delete(session.execute(select(AuditEvent)).scalars().first())


def _store_run(ctx, at_stake: str) -> int:
    """A run with one stored finding (what the review queue reads), its figures given."""
    from hub.core.money import Money
    from hub.reconcile import Difference
    from hub.web.admin.findings_store import fingerprint

    difference = Difference("time", "unbilled_time", 1, "ticket T-1", "hub/psa", "2.5 h",
                            "not invoiced", Money(Decimal(at_stake), "USD"), "stale time")
    key, figures = fingerprint(difference)
    with session_scope(ctx.engine) as session:
        run = ReconcileRun(sections=["time"], finding_count=1)
        session.add(run)
        session.flush()
        run.finished_at = run.started_at
        session.add(Finding(run_id=run.id, key=key, figures=figures, section="time",
                            kind="unbilled_time", document="ticket T-1",
                            at_stake=difference.at_stake.amount,
                            stake_rank=stake_rank(difference.at_stake.amount), currency="USD"))
        return run.id


def _open(ctx, run_id: int) -> int:
    with session_scope(ctx.engine) as session:
        return len(session.execute(findings_query(run_id)).all())


def test_a_dismissal_holds_while_the_figures_stay_and_lapses_when_they_move(admin_ctx):
    first = _store_run(admin_ctx, "237.50")
    with session_scope(admin_ctx.engine) as session, audit.acting_as("user:alice", "web"):
        finding_id = session.execute(select(Finding.id).where(Finding.run_id == first)).scalar()
        with pytest.raises(ValidationFailed, match="say why"):
            dismiss(session, finding_id, "  ")
        dismiss(session, finding_id, "agreed with the client")
    assert _open(admin_ctx, first) == 0
    assert _open(admin_ctx, _store_run(admin_ctx, "237.50")) == 0   # same figures: stays
    assert _open(admin_ctx, _store_run(admin_ctx, "285.00")) == 1   # they moved: back
    with session_scope(admin_ctx.engine) as session:
        event = session.execute(select(AuditEvent).where(
            AuditEvent.action == "finding.dismissed")).scalar_one()
        assert event.actor == "user:alice" and "agreed with the client" in event.summary


def test_the_review_queue_puts_the_most_money_at_stake_first(admin_ctx, client_as):
    with session_scope(admin_ctx.engine) as session:
        run = ReconcileRun(sections=["time"], finding_count=3)
        session.add(run)
        session.flush()
        run.finished_at = run.started_at
        for n, amount in enumerate(("95.00", "190.00", "23.75")):
            session.add(Finding(run_id=run.id, key=f"k{n}", figures="f", section="time",
                                kind="time_not_invoiced", document=f"ticket T-{n}",
                                at_stake=Decimal(amount), stake_rank=stake_rank(Decimal(amount)),
                                currency="USD"))
        run_id = run.id
    with session_scope(admin_ctx.engine) as session:
        documents = [row[0].document for row in session.execute(findings_query(run_id))]
    assert documents == ["ticket T-1", "ticket T-0", "ticket T-2"]
    page = client_as("victor").get("/admin/findings").text
    assert page.index("190.00 USD") < page.index("95.00 USD") < page.index("23.75 USD")


def test_a_batch_total_is_added_up_exactly(admin_ctx, org_id):
    import datetime as dt

    from hub.db.models import BillingBatch, Invoice
    from hub.web.admin.routes.runs import batch_totals

    day = dt.date(2026, 1, 1)
    with session_scope(admin_ctx.engine) as session:
        batch = BillingBatch(run_date=day, invoice_count=3)
        session.add(batch)
        session.flush()
        for total in ("0.10", "0.20", "1000000000.01"):
            session.add(Invoice(organisation_id=org_id, issue_date=day, due_date=day,
                                batch_id=batch.id, total=Decimal(total)))
        session.flush()
        totals = batch_totals(session, batch.id)
    assert totals == [("USD", 3, Decimal("1000000000.31"))]
    assert isinstance(totals[0][2], Decimal)


def test_paging_counts_up_to_a_cap_and_still_pages_past_it(admin_ctx):
    from hub.web.admin.paging import paginate

    with session_scope(admin_ctx.engine) as session:
        for n in range(7):
            create_organisation(session, f"Org {n}")
        query = select(Organisation).order_by(Organisation.id)
        exact = paginate(session, query, 9, per_page=2, scalars=True, cap=None)
        assert (exact.total, exact.page, exact.pages, exact.more) == (7, 4, 4, False)
        capped = paginate(session, query, 3, per_page=2, scalars=True, cap=5)
        assert (capped.total, capped.more, capped.pages) == (5, True, 3)
        assert capped.has_next and [o.name for o in capped.items] == ["Org 4", "Org 5"]
        last = paginate(session, query, 4, per_page=2, scalars=True, cap=5)
        assert [o.name for o in last.items] == ["Org 6"] and not last.has_next


def test_amounts_on_pages_are_in_each_currencys_minor_unit(admin_ctx, client_as):
    """Yen have no decimals (the pages printed 500.00 JPY) and a unit price finer than a cent
    is shown as it is (0.0125 was printed 0.01)."""
    from hub.billing.invoices import add_line, create_invoice

    with session_scope(admin_ctx.engine) as session:
        yen = create_organisation(session, "Kyoto Dental", currency="JPY").id
        usd = create_organisation(session, "Acme Texts").id
        yen_invoice = create_invoice(admin_ctx, session, yen).id
        add_line(session, yen_invoice, description="Support", unit_price="500", quantity="3")
        usd_invoice = create_invoice(admin_ctx, session, usd).id
        add_line(session, usd_invoice, description="SMS", unit_price="0.0125", quantity="1000")
    client = client_as("ann")
    page = client.get(f"/admin/invoices/{yen_invoice}").text
    assert ">500<" in page and ">1,500<" in page and "1,500 JPY" in page
    assert "500.00" not in page and "1,500.00" not in page
    page = client.get(f"/admin/invoices/{usd_invoice}").text
    assert ">0.0125<" in page and ">12.50<" in page and "12.50 USD" in page
