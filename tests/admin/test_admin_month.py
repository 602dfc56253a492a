"""A billing admin's month on the pages, the mistakes found doing it: the starting values of
money fields are amounts as people type them, in the currency's minor unit; a number too large
for the database in an address is a page, not the REST API's JSON; a finding's dismissal or
fix sent twice is done once, and a dismissal's reason is bounded like every other reason."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from hub.billing.catalogue import create_organisation
from hub.db.engine import session_scope
from hub.db.models import AuditEvent
from hub.db.models._base import utcnow
from hub.db.models.findings import Finding, FindingDismissal, ReconcileRun

from .conftest import csrf_of


def _amount_field(page: str) -> str:
    match = re.search(r'<input name="amount" value="([^"]*)"', page)
    assert match, "the invoice page has no payment form with an amount"
    return match.group(1)


def test_the_payment_form_starts_with_the_amount_due_in_the_minor_unit(client_as, invoice_id):
    """The amount field showed the stored figure, ``644.0000`` for 644.00 USD."""
    page = client_as("alice").get(f"/admin/invoices/{invoice_id}").text
    assert _amount_field(page) == "644.00"


def test_the_payment_form_of_a_yen_invoice_has_no_decimals(admin_ctx, client_as):
    """Yen have no minor unit: 1,500 JPY due is typed ``1500``, without a grouping comma."""
    from hub.billing.invoices import add_line, create_invoice, finalise

    with session_scope(admin_ctx.engine) as session:
        yen = create_organisation(session, "Kyoto Dental", currency="JPY").id
        invoice_id = create_invoice(admin_ctx, session, yen).id
        add_line(session, invoice_id, description="Support", unit_price="500", quantity="3")
        finalise(admin_ctx, session, invoice_id)
    page = client_as("alice").get(f"/admin/invoices/{invoice_id}").text
    assert _amount_field(page) == "1500"


@pytest.mark.parametrize("path", [
    "/admin/audit?page=99999999999999999999",
    "/admin/invoices?organisation_id=99999999999999999999",
])
def test_a_number_too_large_for_the_database_in_an_address_is_a_page(client_as, path):
    """These were answered with the REST API's JSON (``{"detail": ...}``), not a page."""
    response = client_as("victor").get(path)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "too large to use" in response.text and "navigation" in response.text


def _finding(ctx, fix: str = "") -> int:
    """A finished run with one open finding (its fix as the report words it)."""
    with session_scope(ctx.engine) as session:
        run = ReconcileRun(sections=["time"], finding_count=1)
        session.add(run)
        session.flush()
        run.finished_at = run.started_at
        finding = Finding(run_id=run.id, key="k", figures="f", section="time",
                          kind="time_not_invoiced", document="ticket T-1", fix=fix,
                          at_stake=Decimal("95.00"), stake_rank=950000, currency="USD")
        session.add(finding)
        session.flush()
        return finding.id


def _events(ctx, action: str) -> int:
    with session_scope(ctx.engine) as session:
        return session.execute(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == action)).scalar_one()


def _send(client, action: str, **data):
    token = csrf_of(client.get("/admin/findings").text)
    return client.post(action, data={"csrf_token": token, **data}, follow_redirects=False)


def test_a_dismissal_sent_twice_keeps_the_first_reason(admin_ctx, client_as):
    """The second one replaced who dismissed it and why, and audited a second dismissal."""
    finding_id = _finding(admin_ctx)
    client = client_as("alice")
    first = _send(client, f"/admin/findings/{finding_id}/dismiss", reason="agreed with client")
    assert first.status_code == 303
    again = _send(client, f"/admin/findings/{finding_id}/dismiss", reason="typo")
    assert again.status_code == 409 and "already dismissed by user:alice" in again.text
    with session_scope(admin_ctx.engine) as session:
        assert session.execute(select(FindingDismissal.reason)).scalar_one() \
            == "agreed with client"
    assert _events(admin_ctx, "finding.dismissed") == 1


def test_a_dismissal_reason_is_bounded_like_other_reasons(admin_ctx, client_as):
    """A 600-character reason was stored; a credit note's or refund's is refused past 500."""
    finding_id = _finding(admin_ctx)
    response = _send(client_as("alice"), f"/admin/findings/{finding_id}/dismiss",
                     reason="r" * 600)
    assert response.status_code == 422 and "more than the 500" in response.text
    with session_scope(admin_ctx.engine) as session:
        assert session.execute(select(func.count()).select_from(FindingDismissal)
                               ).scalar_one() == 0


def test_a_fix_sent_again_after_it_was_done_is_not_done_twice(admin_ctx, client_as):
    """A fixed finding's form sent again (Back, reload) did the fix again: a second push."""
    finding_id = _finding(admin_ctx, fix="hub jobs retry 1")
    with session_scope(admin_ctx.engine) as session:
        finding = session.get(Finding, finding_id)
        finding.resolved_at, finding.resolved_by = utcnow(), "user:ann"
    response = _send(client_as("alice"), f"/admin/findings/{finding_id}/fix")
    assert response.status_code == 409 and "already fixed by user:ann" in response.text
    assert _events(admin_ctx, "finding.fixed") == 0


def test_with_javascript_off_the_batch_total_is_a_link_away(admin_ctx, client_as):
    """htmx adds the total in after the page; without JavaScript the batch page said "adding
    up…" for ever, and the total's address answered a bare fragment."""
    import datetime as dt

    from hub.db.models import BillingBatch, Invoice

    day = dt.date(2026, 1, 1)
    with session_scope(admin_ctx.engine) as session:
        org_id = create_organisation(session, "Acme Dental").id
        batch = BillingBatch(run_date=day, invoice_count=2)
        session.add(batch)
        session.flush()
        for total in ("100.10", "1200.00"):
            session.add(Invoice(organisation_id=org_id, issue_date=day, due_date=day,
                                batch_id=batch.id, total=Decimal(total)))
        batch_id = batch.id
    client = client_as("victor")
    page = client.get(f"/admin/runs/{batch_id}").text
    assert f'<a href="/admin/runs/{batch_id}/totals">' in page
    opened = client.get(f"/admin/runs/{batch_id}/totals").text
    assert "1,300.10 USD" in opened and "Log out" in opened  # a page, with the navigation
    assert f'<a href="/admin/runs/{batch_id}">' in opened
    swapped = client.get(f"/admin/runs/{batch_id}/totals", headers={"HX-Request": "true"}).text
    assert "1,300.10 USD" in swapped and "Log out" not in swapped


def test_a_preview_sent_again_names_the_preview_that_holds_what_is_due(admin_ctx, client_as):
    """The second preview of a day said "Nothing is due", while a preview holding every draft
    of that day waited for approval."""
    from urllib.parse import unquote_plus

    from hub.billing.recurring import add_recurring_line, create_recurring

    today = admin_ctx.today()
    with session_scope(admin_ctx.engine) as session:
        org_id = create_organisation(session, "Acme Dental").id
        schedule = create_recurring(session, org_id, today, first_run="start")
        add_recurring_line(session, recurring_id=schedule.id, description="Helpdesk",
                           unit_price="150")
    client = client_as("alice")

    def preview():
        token = csrf_of(client.get("/admin/runs").text)
        return client.post("/admin/runs", data={"csrf_token": token, "run_date": str(today)},
                           follow_redirects=False)

    first = preview().headers["location"]
    assert first.startswith("/admin/runs/") and "Preview+made" in first
    batch = first.split("?")[0]
    again = unquote_plus(preview().headers["location"])
    assert again.startswith(f"{batch}?") and "Nothing is due" not in again
    assert f"already in preview batch #{batch.rsplit('/', 1)[1]}" in again


def test_a_connections_last_pull_is_shown_like_every_other_moment():
    """The connections page printed ``2026-12-04T19:43:53.065298+00:00``."""
    from hub.web.admin.rendering import templates

    when = templates.env.filters["when"]
    assert when("2026-12-04T19:43:53.065298+00:00") == "2026-12-04 19:43"
    assert when("2026-12-04T20:00:00") == "2026-12-04 20:00"
    assert when("never") == "never" and when(None) == ""
