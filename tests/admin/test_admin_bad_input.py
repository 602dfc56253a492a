"""Wrong input on the admin's forms and URLs, as a billing admin makes it: every refusal is a page
(never JSON, never a 500) with the right 4xx, and nothing is stored. Amounts are read as people
write them or refused (``1,50`` is not 150); reasons the forms ask for are required; ids past
any row, unknown pages and an expired session land on pages; usernames with URL characters can
still be managed; a double click on a form's button sends it once."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hub.access import hash_password
from hub.db.engine import session_scope
from hub.db.models import CreditNote, Invoice, Payment
from hub.db.models.access import Role, User
from hub.ledger import record_payment
from hub.web.admin.once import new_key

from .conftest import PASSWORD, csrf_of, login

DAY = dt.date(2026, 1, 1)


def _count(ctx, model) -> int:
    with session_scope(ctx.engine) as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def _post(client: TestClient, page: str, action: str, **data):
    token = csrf_of(client.get(page).text)
    # a money form's one-time key, fresh as each rendering's (hub/web/admin/once.py)
    return client.post(action, data={"csrf_token": token, "once_key": new_key(), **data},
                       follow_redirects=False)


@pytest.mark.parametrize("amount", ["1,50", "1,2,3", "١٢", "1e2", "1e400",
                                    "99999999999999999999"])
def test_an_amount_not_written_as_people_write_money_is_refused(admin_ctx, client_as,
                                                                invoice_id, amount):
    client = client_as("alice")
    response = _post(client, f"/admin/invoices/{invoice_id}",
                     f"/admin/invoices/{invoice_id}/payments", amount=amount, method="cash")
    assert response.status_code == 422, response.text
    assert "write it like 120.50" in response.text and "Decimal(" not in response.text
    assert _count(admin_ctx, Payment) == 0


def test_thousands_separators_are_still_read(admin_ctx, client_as, invoice_id):
    client = client_as("alice")
    response = _post(client, f"/admin/invoices/{invoice_id}",
                     f"/admin/invoices/{invoice_id}/payments", amount=" 1,234.50 ",
                     method="cash")
    assert response.status_code == 303, response.text
    with session_scope(admin_ctx.engine) as s:
        assert s.execute(select(Payment.amount)).scalar_one() == Decimal("1234.50")


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_credit_note_needs_the_reason_its_form_asks_for(admin_ctx, client_as, invoice_id,
                                                          reason):
    client = client_as("alice")
    response = _post(client, f"/admin/invoices/{invoice_id}",
                     f"/admin/invoices/{invoice_id}/credit", mode="whole", reason=reason)
    assert response.status_code == 422 and "give a reason" in response.text
    assert _count(admin_ctx, CreditNote) == 0


def test_a_credit_note_needs_a_known_mode(admin_ctx, client_as, invoice_id):
    client = client_as("alice")
    response = _post(client, f"/admin/invoices/{invoice_id}",
                     f"/admin/invoices/{invoice_id}/credit", mode="most", reason="goodwill")
    assert response.status_code == 422 and "the whole invoice or a percentage" in response.text
    assert _count(admin_ctx, CreditNote) == 0


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_refund_needs_the_reason_its_form_asks_for(admin_ctx, client_as, invoice_id, reason):
    with session_scope(admin_ctx.engine) as s:
        payment_id = record_payment(s, s.get(Invoice, invoice_id).organisation_id,
                                    Decimal("100.00"), date=DAY, today=DAY, method="cash",
                                    invoice_id=invoice_id).id
    client = client_as("alice")
    response = _post(client, f"/admin/payments/{payment_id}",
                     f"/admin/payments/{payment_id}/refund", amount="10", reason=reason)
    assert response.status_code == 422 and "give a reason" in response.text
    assert _count(admin_ctx, Payment) == 1


@pytest.mark.parametrize("method,path", [
    ("get", "/admin/invoices/99999999999999999999"),
    ("post", "/admin/runs/99999999999999999999/confirm"),
    ("post", "/admin/jobs/99999999999999999999/replay"),
    ("post", "/admin/organisations/99999999999999999999"),
])
def test_an_id_past_any_row_is_a_missing_record_page(client_as, method, path):
    client = client_as("ann")
    token = csrf_of(client.get("/admin/").text)
    response = getattr(client, method)(path, **({"data": {"csrf_token": token, "name": "x"}}
                                               if method == "post" else {}))
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "does not exist" in response.text and "<h1>" in response.text


@pytest.mark.parametrize("path,status", [("/admin/invoices/-1", 404), ("/admin/nowhere", 404),
                                         ("/admin/invoices/1/payments", 405)])
def test_an_unknown_admin_url_is_a_page_not_json(client_as, path, status):
    response = client_as("victor").get(path)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>" in response.text and 'href="/admin/"' in response.text


def test_the_rest_api_still_answers_unknown_urls_in_json(admin_app):
    response = TestClient(admin_app).get("/no/such/api")
    assert response.status_code == 404 and response.json() == {"detail": "Not Found"}


def test_a_form_sent_after_the_session_expired_returns_to_its_page_after_login(
        admin_ctx, client_as, invoice_id):
    client = client_as("alice")
    page = f"/admin/invoices/{invoice_id}"
    token = csrf_of(client.get(page).text)
    with session_scope(admin_ctx.engine) as s:  # the session ends: its version moves on
        s.execute(select(User).where(User.username == "alice")).scalar_one().session_version += 1
    response = client.post(f"{page}/payments", data={"csrf_token": token, "amount": "10"},
                           headers={"Referer": f"http://testserver{page}"},
                           follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/admin/login?next={page}"
    assert _count(admin_ctx, Payment) == 0
    # without a page of this site to go back to, the login leads home
    response = client.post(f"{page}/payments", data={"csrf_token": token, "amount": "10"},
                           headers={"Referer": "http://evil.example/x"}, follow_redirects=False)
    assert response.headers["location"] == "/admin/login?next=/admin/"


@pytest.mark.parametrize("name", ["a/b", "a?b", "a#b"])
def test_a_user_whose_name_has_url_characters_can_be_managed(admin_ctx, client_as, name):
    """Such names are refused now (hub.access.users); users added before keep working."""
    with session_scope(admin_ctx.engine) as s:
        s.add(User(username=name, role=Role.viewer, password_hash=hash_password(PASSWORD)))
    client = client_as("ann")
    html = client.get("/admin/users").text
    token = csrf_of(html)
    forms = [f"/admin/users/{part}/{action}" for part in (name.replace("/", "%2F")
             .replace("?", "%3F").replace("#", "%23"),) for action in ("disable", "password")]
    for action in forms:
        assert f'action="{action}"' in html
    assert client.post(forms[1], data={"csrf_token": token, "password": "another long one"},
                       follow_redirects=False).status_code == 303
    assert client.post(forms[0], data={"csrf_token": token},
                       follow_redirects=False).status_code == 303
    with session_scope(admin_ctx.engine) as s:
        assert s.execute(select(User).where(User.username == name)).scalar_one().disabled_at
    assert login(TestClient(client.app), name, "another long one").status_code == 401


class _SlowHub(BaseHTTPRequestHandler):
    """Stands in for a slow hub: a form page whose POST answers only after a while, counting
    the POSTs it gets."""

    posts: list[str] = []

    def log_message(self, *args) -> None:  # keep the test's output clean
        return

    def do_GET(self) -> None:
        from hub.web.admin.app import STATIC_DIR

        if self.path == "/admin/static/admin.js":
            body, kind = (STATIC_DIR / "admin.js").read_bytes(), "text/javascript"
        else:
            body, kind = (b'<!doctype html><script src="/admin/static/admin.js"></script>'
                          b'<form method="post" action="/pay"><input name="amount" value="1">'
                          b'<button type="submit" id="go">Record payment</button></form>'), \
                "text/html"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self.posts.append(self.path)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        threading.Event().wait(1.5)
        self.send_response(303)
        self.send_header("Location", "/done")
        self.end_headers()


def test_a_second_click_while_a_form_is_on_its_way_sends_nothing(browser_page):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        page = browser_page
        page.goto(f"http://127.0.0.1:{server.server_port}/")
        page.wait_for_load_state("load")
        box = page.locator("#go").bounding_box()
        where = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.click(*where)  # the mouse, as a user clicks (not a scripted click)
        page.wait_for_timeout(300)
        # the first answer has not come yet: a second click must not send the form again
        page.mouse.click(*where)
        page.wait_for_timeout(2500)
        assert _SlowHub.posts == ["/pay"]
    finally:
        server.shutdown()
        _SlowHub.posts.clear()


@pytest.fixture
def browser_page():
    from playwright.sync_api import sync_playwright  # the `test` extra installs it

    from hub.testing.browser import launch_chromium

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        context = chromium.new_context()
        yield context.new_page()
        context.close()
        chromium.close()


def test_a_disabled_user_is_enabled_again_from_the_users_page(admin_ctx, client_as):
    client = client_as("ann")
    token = csrf_of(client.get("/admin/users").text)
    assert client.post("/admin/users/victor/disable", data={"csrf_token": token},
                       follow_redirects=False).status_code == 303
    again = client.post("/admin/users/victor/disable", data={"csrf_token": token},
                        follow_redirects=False)
    assert again.status_code == 409 and "already disabled" in again.text
    assert login(TestClient(client.app), "victor").status_code == 401
    html = client.get("/admin/users").text
    assert 'action="/admin/users/victor/enable"' in html
    assert client.post("/admin/users/victor/enable", data={"csrf_token": token},
                       follow_redirects=False).status_code == 303
    assert login(TestClient(client.app), "victor").status_code == 303


def test_consent_for_a_connection_that_does_not_exist_is_a_404_page(client_as):
    client = client_as("ann")
    token = csrf_of(client.get("/admin/users").text)
    answer = client.post("/admin/connections/nope/connect", data={"csrf_token": token},
                         follow_redirects=False)
    assert answer.status_code == 404, answer.text
    assert "connection &#39;nope&#39; does not exist" in answer.text, answer.text[-600:]
    assert answer.headers["content-type"].startswith("text/html")
