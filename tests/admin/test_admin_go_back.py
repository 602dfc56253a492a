"""A refusal page's "Go back", in a real browser: with JavaScript it goes back in the history,
where the browser keeps what was typed; with JavaScript off it still leads back to the form's
page (it was a ``javascript:`` link, which then did nothing)."""

from __future__ import annotations

import pytest

from .conftest import PASSWORD


@pytest.fixture
def site(admin_app):
    """The admin app served on a local port (a browser needs one)."""
    from hub.testing.sandbox import SandboxServer

    with SandboxServer(admin_app) as server:
        yield server.url


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright  # the `test` extra installs it

    from hub.testing.browser import launch_chromium

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


def _refused_payment(browser, site: str, invoice_id: int, javascript: bool):
    """A tab whose payment of 5.001 USD on the invoice was refused (a cent has two places)."""
    page = browser.new_context(java_script_enabled=javascript).new_page()
    page.goto(f"{site}/admin/login")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/admin/login'] button")
    page.wait_for_url(f"{site}/admin/")
    page.goto(f"{site}/admin/invoices/{invoice_id}")
    page.click("summary:has-text('Record a payment')")
    form = page.locator(f"form[action='/admin/invoices/{invoice_id}/payments']")
    form.locator("input[name=amount]").fill("5.001")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert "finer than USD allows" in page.inner_text("main")
    return page


def test_go_back_without_javascript_leads_to_the_forms_page(browser, site, invoice_id):
    page = _refused_payment(browser, site, invoice_id, javascript=False)
    with page.expect_navigation(timeout=5000):
        page.click("text=Go back")
    assert page.url == f"{site}/admin/invoices/{invoice_id}"


def test_go_back_with_javascript_keeps_what_was_typed(browser, site, invoice_id):
    """Guards the history step: the link's href alone would load the form afresh, empty."""
    page = _refused_payment(browser, site, invoice_id, javascript=True)
    with page.expect_navigation():
        page.click("text=Go back")
    assert page.url == f"{site}/admin/invoices/{invoice_id}"
    amount = page.locator(f"form[action='/admin/invoices/{invoice_id}/payments'] "
                          "input[name=amount]")
    assert amount.input_value() == "5.001"
