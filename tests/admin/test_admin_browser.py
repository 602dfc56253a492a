"""The web admin in a real browser (Debian's chromium through Playwright) on the demo month:
each role logs in; an approver previews the next month, opens a line's provenance and confirms
the batch; a viewer is refused; a dismissed finding stays dismissed on the next run; a failed
job is replayed; every page of the navigation loads without a console error. Screenshots of the
main pages go to ``build/screenshots/`` (or ``HUB_SCREENSHOTS_DIR``)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.db.engine import session_scope
from hub.db.models import AuditEvent, BatchStatus, BillingBatch, JobRecord, JobStatus
from hub.demo.admin_users import DEMO_PASSWORD
from hub.web.admin.rendering import NAVIGATION

SCREENSHOTS = Path(os.environ.get("HUB_SCREENSHOTS_DIR")
                   or Path(__file__).resolve().parents[2] / "build" / "screenshots")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright  # the `test` extra installs it

    from hub.testing.browser import launch_chromium

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


class Session:
    """One logged-in browser tab that records console errors and failed page loads."""

    def __init__(self, browser, site, username: str) -> None:
        self.site = site
        self.context = browser.new_context(viewport={"width": 1400, "height": 900})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(f"console: {m.text}")
                     if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        # A load the browser itself cancels because the page moved on (the favicon of a page
        # left at once) is not an error; any other failed request is.
        self.page.on("requestfailed", lambda r: self.errors.append(
            f"failed: {r.url} ({r.failure})") if "ERR_ABORTED" not in (r.failure or "") else None)
        self.page.goto(f"{site.url}/admin/")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", DEMO_PASSWORD)
        self.page.click("button[type=submit]")
        self.page.wait_for_url(f"{site.url}/admin/")

    def open(self, path: str):
        response = self.page.goto(f"{self.site.url}/admin{path}")
        self.page.wait_for_load_state("networkidle")
        return response

    def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def as_user(browser, demo_site):
    opened: list[Session] = []

    def factory(username: str) -> Session:
        opened.append(Session(browser, demo_site, username))
        return opened[-1]

    yield factory
    for session in opened:
        session.close()


@pytest.mark.parametrize("username,role", [("demo-admin", "admin"),
                                           ("demo-approver", "approver"),
                                           ("demo-viewer", "viewer")])
def test_each_role_logs_in_and_every_page_of_the_navigation_loads_cleanly(as_user, username,
                                                                          role):
    tab = as_user(username)
    assert tab.page.locator("nav.top .badge").inner_text() == role
    links = [a.get_attribute("href") for a in tab.page.locator("nav.top a").all()]
    expected = [f"/admin{path}" for path, _ in NAVIGATION if path != "/users" or role == "admin"]
    assert links == expected
    for href in links:
        response = tab.open(href.removeprefix("/admin"))
        assert response.status == 200, href
        assert tab.page.locator("main h1").count() == 1, href
        if role == "admin":
            name = href.strip("/").replace("/", "-").removeprefix("admin-") or "home"
            tab.shot("home" if name == "admin" else name)
    assert tab.errors == []


def test_an_approver_previews_opens_provenance_and_confirms_the_batch(as_user, demo_site):
    tab = as_user("demo-approver")
    tab.open("/runs")
    tab.page.fill("#preview-form input[name=run_date]", "2027-01-01")
    tab.page.click("#preview-form button[type=submit]")
    tab.page.wait_for_url("**/admin/runs/*")
    batch_id = int(tab.page.url.split("/runs/")[1].split("?")[0])
    assert "Preview made" in tab.page.locator(".flash").inner_text()
    totals = tab.page.locator("#batch-totals strong")  # loaded by htmx after the page
    totals.wait_for()
    assert totals.inner_text().endswith(" USD")
    assert tab.page.locator("#batch-lines tbody").count() >= 8
    # The per-line change and cause is shown, and a counted line opens its provenance.
    assert tab.page.locator("#batch-lines td", has_text="no change").count() > 0
    link = tab.page.locator("a.provenance-link").first
    line_id = link.get_attribute("href").split("/lines/")[1].split("/")[0]
    link.click()
    items = tab.page.locator(f"#prov-{line_id} .provenance-items")
    items.wait_for()
    assert "made the quantity" in items.inner_text()
    assert items.locator("tbody tr").count() >= 1
    tab.shot("batch-with-provenance")
    tab.page.once("dialog", lambda dialog: dialog.accept())
    tab.page.click("#confirm-batch")
    tab.page.wait_for_url(f"**/admin/runs/{batch_id}?done=Batch+confirmed*")
    assert "Batch confirmed" in tab.page.locator(".flash").inner_text()
    with session_scope(demo_site.ctx.engine) as session:
        assert session.get(BillingBatch, batch_id).status == BatchStatus.confirmed
    # The audit list names the approver for the confirmation.
    tab.open(f"/audit?action=batch.confirmed&target_id={batch_id}")
    row = tab.page.locator("#audit-events tbody tr").first
    assert "user:demo-approver" in row.inner_text() and "web" in row.inner_text()
    tab.shot("audit")
    assert tab.errors == []


def test_a_viewer_is_refused_an_approvers_action(as_user, demo_site):
    with session_scope(demo_site.ctx.engine) as session:
        batch = session.execute(select(BillingBatch).order_by(BillingBatch.id)).scalars().first()
    tab = as_user("demo-viewer")
    tab.open(f"/runs/{batch.id}")
    assert tab.page.locator("#confirm-batch").count() == 0
    tab.open("/runs")
    assert tab.page.locator("#preview-form").count() == 0
    # Posting the form by hand (with the viewer's own valid CSRF token) is refused too.
    status = tab.page.evaluate("""async (id) => {
        const token = document.querySelector('meta[name=csrf-token]').content;
        const r = await fetch(`/admin/runs/${id}/discard`, {method: 'POST',
            headers: {'Content-Type': 'application/x-www-form-urlencoded'},
            body: 'csrf_token=' + token});
        return r.status; }""", batch.id)
    assert status == 403


def test_a_dismissed_finding_stays_dismissed_after_a_second_run(as_user, demo_site):
    tab = as_user("demo-approver")

    def run_reconciliation() -> None:
        tab.open("/findings")
        tab.page.click("#run-reconcile button[type=submit]")
        tab.page.wait_for_url("**/admin/findings?done=Reconciliation+run*")

    run_reconciliation()
    rows = tab.page.locator("#findings tbody tr[id^=finding-]")
    before = rows.count()
    assert before >= 1, "the demo plants leaks the time and assets sections find"
    first = rows.first
    document = first.locator("td").nth(2).inner_text()
    first.locator("form.dismiss input[name=reason]").fill("known: billed by hand")
    first.locator("form.dismiss button").click()
    tab.page.wait_for_url("**/admin/findings?done=Finding+dismissed")
    assert rows.count() == before - 1
    run_reconciliation()
    assert rows.count() == before - 1
    tab.open("/findings?show=dismissed")
    dismissed = tab.page.locator("#findings tbody tr[id^=finding-]")
    assert dismissed.count() == 1
    assert document in dismissed.first.inner_text()
    assert "known: billed by hand" in dismissed.first.inner_text()
    tab.shot("findings-dismissed")
    assert tab.errors == []


def test_a_failed_job_is_replayed(as_user, demo_site):
    with session_scope(demo_site.ctx.engine) as session:
        failed = session.execute(select(JobRecord).where(
            JobRecord.status == JobStatus.failed).order_by(JobRecord.id)).scalars().first()
    assert failed is not None, "the demo's declined card leaves a failed charge job"
    tab = as_user("demo-approver")
    tab.open("/jobs")
    row = tab.page.locator(f"#job-{failed.id}")
    assert failed.reason[:30] in row.inner_text()
    row.locator("button.replay").click()
    tab.page.wait_for_url("**/admin/jobs?done=Job*")
    assert f"Job {failed.id}" in tab.page.locator(".flash").inner_text()
    with session_scope(demo_site.ctx.engine) as session:
        assert session.get(JobRecord, failed.id).status != JobStatus.failed
        event = session.execute(select(AuditEvent).where(
            AuditEvent.action == "job.replayed", AuditEvent.target_id == str(failed.id))
        ).scalar_one()
        assert event.actor == "user:demo-approver"
    assert tab.errors == []


def test_the_audit_list_names_the_cli_user_for_an_invoice_edited_from_the_cli(as_user,
                                                                              demo_site):
    import getpass

    from hub.cli.main import main
    from hub.db.models import Invoice

    def unlocked():
        with session_scope(demo_site.ctx.engine) as session:
            return session.execute(select(Invoice).where(
                Invoice.number.is_not(None), Invoice.locked_at.is_(None))
                .order_by(Invoice.id)).scalars().first()

    # The demo's invoices are synced to Xero (locked: never edited); a batch confirmed here
    # is not pushed by this web process, so its invoices can still be edited.
    invoice = unlocked()
    if invoice is None:
        from hub.billing import confirm, preview

        confirm(demo_site.ctx, preview(demo_site.ctx, dt.date(2027, 1, 1)).batch_id)
        invoice = unlocked()
    assert main(["--config", str(demo_site.config), "ledger", "edit", invoice.number,
                 "--memo", "checked by phone"]) == 0
    tab = as_user("demo-viewer")
    tab.open(f"/invoices/{invoice.id}")
    history = tab.page.locator("table", has_text="invoice.edited")
    assert f"cli:{getpass.getuser()}" in history.inner_text()
    tab.open("/audit?action=invoice.edited")
    row = tab.page.locator("#audit-events tbody tr").first
    assert f"cli:{getpass.getuser()}" in row.inner_text()
    assert f"invoice {invoice.id}" in row.inner_text()
    assert tab.errors == []
