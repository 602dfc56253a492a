"""The admin's money forms do their work once, however often they are sent: each rendering of a
form carries a fresh one-time key; the first POST with it records the money and stores its
outcome with the key in the same transaction; sending it again (Back and send, a browser that
resends on reload, a double click with JavaScript off) records nothing more and says what
happened the first time. A refused POST stores nothing; a missing or garbled key, or one made
for another form or another document, is refused with a page (hub/web/admin/once.py)."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from decimal import Decimal
from urllib.parse import unquote_plus

import pytest
from sqlalchemy import func, select

import hub.ledger
from hub.db.engine import session_scope
from hub.db.models import CreditNote, Invoice, InvoiceStatus, Payment
from hub.db.models.idempotency import IdempotencyKey
from hub.errors import DocumentRefused
from hub.ledger import post_invoice, record_payment

from .conftest import PASSWORD

DAY = dt.date(2026, 1, 1)


def _form(html: str, action: str) -> dict[str, str]:
    """The hidden fields of the page's form that posts to ``action``, as a browser sends them
    (the CSRF token, and the one-time key when the form has one)."""
    form = re.search(rf'<form method="post" action="{re.escape(action)}">(.*?)</form>', html,
                     re.S)
    assert form, f"the page has no form posting to {action}"
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"',
                           form.group(1)))


def _opened(client, page: str, action: str) -> dict[str, str]:
    """Open ``page`` and read its form for ``action``: one rendering of that form."""
    response = client.get(page)
    assert response.status_code == 200, response.text
    return _form(response.text, action)


def _told(response) -> str:
    """What a redirect after a form tells the clerk (its ``done`` notice), in words."""
    assert response.status_code == 303, response.text[-800:]
    return unquote_plus(response.headers["location"])


def _payments(ctx) -> list[Decimal]:
    with session_scope(ctx.engine) as s:
        return [p.amount for p in s.execute(select(Payment).order_by(Payment.id)).scalars()]


def _keys(ctx) -> int:
    with session_scope(ctx.engine) as s:
        return s.execute(select(func.count()).select_from(IdempotencyKey)).scalar_one()


def _invoice(ctx, number: str, total: str = "644.00") -> int:
    """Another unpaid USD invoice of the fixture's organisation."""
    with session_scope(ctx.engine) as s:
        first = s.execute(select(Invoice).order_by(Invoice.id)).scalars().first()
        invoice = Invoice(organisation_id=first.organisation_id, number=number,
                          status=InvoiceStatus.unpaid, issue_date=DAY, due_date=DAY,
                          currency="USD", subtotal=Decimal(total), total=Decimal(total))
        s.add(invoice)
        s.flush()
        post_invoice(s, invoice)
        return invoice.id


def _cash_payment(ctx, invoice_id: int, amount: str = "644.00") -> int:
    with session_scope(ctx.engine) as s:
        return record_payment(s, s.get(Invoice, invoice_id).organisation_id, amount, date=DAY,
                              today=DAY, method="cash", invoice_id=invoice_id).id


def test_each_rendering_of_a_money_form_carries_a_fresh_key(admin_ctx, client_as, invoice_id):
    alice = client_as("alice")
    payment_id = _cash_payment(admin_ctx, invoice_id, "100.00")
    invoice, payment = f"/admin/invoices/{invoice_id}", f"/admin/payments/{payment_id}"
    for page, action in ((invoice, f"{invoice}/payments"), (invoice, f"{invoice}/credit"),
                         (payment, f"{payment}/refund")):
        first, second = (_opened(alice, page, action).get("once_key") for _ in range(2))
        assert first and second and first != second, action


def test_the_same_payment_form_sent_twice_records_one_payment(admin_ctx, client_as,
                                                              invoice_id):
    alice = client_as("alice")
    page, action = f"/admin/invoices/{invoice_id}", f"/admin/invoices/{invoice_id}/payments"
    form = {**_opened(alice, page, action), "amount": "100.00", "method": "cash"}
    first = _told(alice.post(action, data=form, follow_redirects=False))
    assert first.startswith(f"{page}?done=Payment ") and first.endswith(" recorded")
    again = alice.post(action, data=form, follow_redirects=False)
    told = _told(again)
    # the same page the first answer led to, saying it was done once and sent twice
    assert told.startswith(f"{page}?done=")
    assert "already recorded" in told and "sent twice" in told
    assert _payments(admin_ctx) == [Decimal("100.00")]
    with session_scope(admin_ctx.engine) as s:
        assert s.get(Invoice, invoice_id).amount_paid == Decimal("100.00")
    shown = alice.get(again.headers["location"]).text
    assert re.search(r'class="flash"[^>]*>[^<]*already recorded', shown)
    # The page shown after it has a new rendering of the form: another payment is another one.
    fresh = {**_form(shown, action), "amount": "44.00", "method": "cash"}
    assert "already" not in _told(alice.post(action, data=fresh, follow_redirects=False))
    assert _payments(admin_ctx) == [Decimal("100.00"), Decimal("44.00")]


@pytest.mark.parametrize("which", ["credit", "refund"])
def test_the_other_money_forms_sent_twice_do_their_work_once(admin_ctx, client_as, invoice_id,
                                                             which):
    alice = client_as("alice")
    if which == "credit":
        page, action = f"/admin/invoices/{invoice_id}", f"/admin/invoices/{invoice_id}/credit"
        fields = {"mode": "percent", "percent": "10", "reason": "goodwill"}
    else:
        payment_id = _cash_payment(admin_ctx, invoice_id)
        page, action = f"/admin/payments/{payment_id}", f"/admin/payments/{payment_id}/refund"
        fields = {"amount": "10.00", "reason": "goodwill"}
    form = {**_opened(alice, page, action), **fields}
    first = _told(alice.post(action, data=form, follow_redirects=False))
    again = _told(alice.post(action, data=form, follow_redirects=False))
    assert again.split("?")[0] == first.split("?")[0]
    assert "already" in again and "sent twice" in again
    with session_scope(admin_ctx.engine) as s:
        if which == "credit":
            totals = [n.total for n in s.execute(select(CreditNote)).scalars()]
            assert totals == [Decimal("64.40")]
        else:
            refunds = [p.amount for p in s.execute(select(Payment).where(Payment.amount < 0))
                       .scalars()]
            assert refunds == [Decimal("-10.00")]


@pytest.fixture
def fails_once_written(monkeypatch):
    """The ledger refuses the next payment after writing it, inside the form's transaction."""
    real = hub.ledger.record_payment

    def written_then_refused(*args, **kwargs):
        monkeypatch.setattr(hub.ledger, "record_payment", real)
        real(*args, **kwargs)
        raise DocumentRefused("refused after the payment was written")

    monkeypatch.setattr(hub.ledger, "record_payment", written_then_refused)


@pytest.mark.parametrize("refusal", ["bad amount", "refused in the ledger"])
def test_a_refused_post_stores_nothing_and_the_corrected_one_records_once(
        admin_ctx, client_as, invoice_id, refusal, request):
    alice = client_as("alice")
    page, action = f"/admin/invoices/{invoice_id}", f"/admin/invoices/{invoice_id}/payments"
    form = {**_opened(alice, page, action), "method": "cash"}
    if refusal == "bad amount":
        refused = alice.post(action, data={**form, "amount": "1,50"}, follow_redirects=False)
        assert refused.status_code == 422 and "write it like 120.50" in refused.text
    else:
        request.getfixturevalue("fails_once_written")
        refused = alice.post(action, data={**form, "amount": "100.00"}, follow_redirects=False)
        assert refused.status_code == 409 and "refused after the payment" in refused.text
    assert _payments(admin_ctx) == [] and _keys(admin_ctx) == 0
    corrected = {**form, "amount": "100.00"}
    assert "already" not in _told(alice.post(action, data=corrected, follow_redirects=False))
    assert "already recorded" in _told(alice.post(action, data=corrected,
                                                  follow_redirects=False))
    assert _payments(admin_ctx) == [Decimal("100.00")] and _keys(admin_ctx) == 1


@pytest.mark.parametrize("key", [None, "", "   ", "short", "!" * 43, "a" * 44, "a" * 10_000,
                                 "é" * 43, "a" * 42 + "\n"])
def test_a_missing_or_garbled_key_is_refused_on_a_page(admin_ctx, client_as, invoice_id, key):
    alice = client_as("alice")
    page, action = f"/admin/invoices/{invoice_id}", f"/admin/invoices/{invoice_id}/payments"
    form = {**_opened(alice, page, action), "amount": "100.00", "method": "cash"}
    form.pop("once_key", None)
    if key is not None:
        form["once_key"] = key
    answer = alice.post(action, data=form, follow_redirects=False)
    assert answer.status_code == 422, answer.text[-800:]
    assert answer.headers["content-type"].startswith("text/html")
    assert "<h1>" in answer.text and "one-time key" in answer.text
    assert "reload the page" in answer.text and "Traceback" not in answer.text
    assert _payments(admin_ctx) == [] and _keys(admin_ctx) == 0


def test_a_key_used_on_one_invoice_does_not_replay_on_another_or_on_another_form(
        admin_ctx, client_as, invoice_id):
    alice = client_as("alice")
    other = _invoice(admin_ctx, "INV-2", "300.00")
    on_a = _opened(alice, f"/admin/invoices/{invoice_id}",
                   f"/admin/invoices/{invoice_id}/payments")
    paid = {**on_a, "amount": "100.00", "method": "cash"}
    assert "already" not in _told(alice.post(f"/admin/invoices/{invoice_id}/payments",
                                             data=paid, follow_redirects=False))
    for action, fields in ((f"/admin/invoices/{other}/payments", {"amount": "100.00"}),
                           (f"/admin/invoices/{invoice_id}/credit",
                            {"mode": "whole", "reason": "goodwill"})):
        answer = alice.post(action, data={**on_a, **fields}, follow_redirects=False)
        # not the first answer again (that would send the clerk to invoice A, saying done)
        assert answer.status_code == 422, (action, answer.text[-800:])
        assert "one-time key" in answer.text and "another form" in answer.text
    with session_scope(admin_ctx.engine) as s:
        assert s.get(Invoice, other).amount_paid == Decimal("0")
        assert s.execute(select(func.count()).select_from(CreditNote)).scalar_one() == 0
    assert _payments(admin_ctx) == [Decimal("100.00")]
    # invoice B's own form still records its payment
    on_b = _opened(alice, f"/admin/invoices/{other}", f"/admin/invoices/{other}/payments")
    assert "already" not in _told(alice.post(f"/admin/invoices/{other}/payments",
                                             data={**on_b, "amount": "100.00"},
                                             follow_redirects=False))
    assert _payments(admin_ctx) == [Decimal("100.00"), Decimal("100.00")]


@pytest.mark.postgres
class TestOnPostgreSQL:
    """Two sends of one form at the same moment, on a real PostgreSQL."""

    @pytest.fixture
    def hub_engine(self, hub_postgres_url):
        from hub.db.engine import make_engine
        from hub.db.models import metadata

        engine = make_engine(hub_postgres_url)
        metadata.create_all(engine)
        yield engine
        engine.dispose()

    @pytest.fixture
    def slow_payments(self, monkeypatch):
        """Recording a payment takes ``seconds`` more, its transaction still open."""
        real = hub.ledger.record_payment

        def set_delay(seconds: float) -> None:
            def slow(*args, **kwargs):  # the payment written, nothing committed yet
                payment = real(*args, **kwargs)
                time.sleep(seconds)
                return payment

            monkeypatch.setattr(hub.ledger, "record_payment", slow)

        return set_delay

    @staticmethod
    def _at_once(client, action: str, form: dict, delays: tuple[float, float]):
        """The form sent from two threads started together (each after its delay): the
        answers, and when each was sent and answered."""
        answers: list = [None, None]
        times: list = [None, None]
        start = threading.Barrier(2)

        def send(i: int) -> None:
            start.wait()
            time.sleep(delays[i])
            sent = time.monotonic()
            answers[i] = client.post(action, data=form, follow_redirects=False)
            times[i] = (sent, time.monotonic())

        threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        return answers, times

    def test_two_sends_at_once_record_one_payment(self, admin_ctx, client_as, invoice_id,
                                                  slow_payments):
        slow_payments(0.5)
        alice = client_as("alice")
        page, action = f"/admin/invoices/{invoice_id}", f"/admin/invoices/{invoice_id}/payments"
        form = {**_opened(alice, page, action), "amount": "100.00", "method": "cash"}
        answers, times = self._at_once(alice, action, form, (0, 0))
        # both were sent before either was answered: the second did not simply come later
        assert max(sent for sent, _ in times) < min(answered for _, answered in times)
        told = sorted(_told(a) for a in answers)
        assert ["already recorded" in t for t in told] == [False, True], told
        assert _payments(admin_ctx) == [Decimal("100.00")]

    def test_a_send_that_waits_too_long_for_the_first_is_refused_on_a_page(
            self, admin_ctx, client_as, invoice_id, slow_payments, monkeypatch):
        import hub.web.idempotency

        slow_payments(2)
        monkeypatch.setattr(hub.web.idempotency, "WAIT_SECONDS", 0.3)
        alice = client_as("alice")
        page, action = f"/admin/invoices/{invoice_id}", f"/admin/invoices/{invoice_id}/payments"
        form = {**_opened(alice, page, action), "amount": "100.00", "method": "cash"}
        (first, second), _ = self._at_once(alice, action, form, (0, 0.5))
        assert "already" not in _told(first)
        assert second.status_code == 409, second.text[-800:]
        assert second.headers["content-type"].startswith("text/html")
        assert "still being sent" in second.text and "Idempotency-Key" not in second.text
        assert _payments(admin_ctx) == [Decimal("100.00")]
        # sent again once the first has finished, it is told what the first did
        assert "already recorded" in _told(alice.post(action, data=form,
                                                      follow_redirects=False))
        assert _payments(admin_ctx) == [Decimal("100.00")]


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright  # the `test` extra installs it

    from hub.testing.browser import launch_chromium

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)  # Debian's /usr/bin/chromium
        yield chromium
        chromium.close()


@pytest.fixture
def served(admin_app):
    """The admin on a local port (its database is the test's own, not the demo's)."""
    from hub.testing.sandbox import SandboxServer

    with SandboxServer(admin_app) as server:
        yield server.url


def _logged_in(browser, url: str, *, javascript: bool = True):
    """A page of a new browser context, logged in as alice."""
    page = browser.new_context(java_script_enabled=javascript).new_page()
    page.goto(f"{url}/admin/login")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    return page


def _payment_form(page, invoice_id: int):
    """The invoice's payment form, opened, with 100.00 in its amount."""
    form = page.locator(f"form[action='/admin/invoices/{invoice_id}/payments']")
    if not form.is_visible():
        page.click("summary:has-text('Record a payment')")
    form.locator("input[name=amount]").fill("100.00")
    return form


def test_in_a_browser_back_and_send_again_records_one_payment(admin_ctx, invoice_id, browser,
                                                              served):
    page = _logged_in(browser, served)
    page.goto(f"{served}/admin/invoices/{invoice_id}")
    with page.expect_navigation():
        _payment_form(page, invoice_id).locator("button[type=submit]").click()
    assert page.locator(".flash").inner_text().endswith(" recorded")
    page.go_back()  # the page is fetched again (it is never cached): a new rendering
    page.wait_for_load_state("load")
    assert page.url == f"{served}/admin/invoices/{invoice_id}"
    with page.expect_navigation():
        _payment_form(page, invoice_id).locator("button[type=submit]").click()
    told = page.locator(".flash").inner_text()
    assert "already recorded" in told and "sent twice" in told
    assert _payments(admin_ctx) == [Decimal("100.00")]


def test_in_a_browser_without_javascript_a_post_resent_on_reload_records_one_payment(
        admin_ctx, invoice_id, browser, served):
    page = _logged_in(browser, served, javascript=False)
    page.goto(f"{served}/admin/invoices/{invoice_id}")
    action = f"{served}/admin/invoices/{invoice_id}/payments"

    def answer_lost(route) -> None:  # the hub records the payment; its answer never arrives
        route.fetch(max_redirects=0)
        route.abort("connectionreset")

    page.route(action, answer_lost)
    _payment_form(page, invoice_id).locator("button[type=submit]").click()
    page.wait_for_url("chrome-error://**")
    assert _payments(admin_ctx) == [Decimal("100.00")]
    page.unroute(action)
    page.reload()  # the browser sends the POST again ("Confirm form resubmission")
    page.wait_for_load_state("load")
    told = page.locator(".flash").inner_text()
    assert "already recorded" in told and "sent twice" in told
    assert _payments(admin_ctx) == [Decimal("100.00")]
