"""Security of the web admin: CSRF, roles by URL and by API, password storage, cookie flags,
slowed logins, sessions that end."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.access.sessions import SESSION_COOKIE
from hub.billing import preview
from hub.db.engine import session_scope
from hub.db.models import AuditEvent, BillingBatch, User

from .conftest import PASSWORD, csrf_of, login


def _something_to_bill(ctx) -> None:
    """One organisation with a recurring invoice due: a run that finds nothing stores no batch."""
    from hub.billing.catalogue import create_organisation
    from hub.billing.recurring import add_recurring_line, create_recurring

    with session_scope(ctx.engine) as session:
        org = create_organisation(session, "Acme", currency="USD")
        schedule = create_recurring(session, org.id, dt.date(2026, 1, 1), first_run="start")
        add_recurring_line(session, recurring_id=schedule.id, description="Backup",
                           unit_price="20")


def _batch(ctx) -> int:
    """A preview batch with one invoice in it."""
    _something_to_bill(ctx)
    batch_id = preview(ctx, dt.date(2026, 2, 1)).batch_id
    assert batch_id is not None
    return batch_id


def test_a_post_without_or_with_a_wrong_csrf_token_is_refused(admin_ctx, client_as):
    batch_id = _batch(admin_ctx)
    alice = client_as("alice")
    missing = alice.post(f"/admin/runs/{batch_id}/confirm", data={})
    wrong = alice.post(f"/admin/runs/{batch_id}/confirm", data={"csrf_token": "0" * 64})
    other = TestClient(alice.app)  # another visitor's token is not this session's
    foreign = alice.post(f"/admin/runs/{batch_id}/confirm",
                         data={"csrf_token": csrf_of(other.get("/admin/login").text)})
    for response in (missing, wrong, foreign):
        assert response.status_code == 403
        assert "CSRF" in response.text
    with session_scope(admin_ctx.engine) as session:
        assert session.get(BillingBatch, batch_id).status == "preview"
    token = csrf_of(alice.get(f"/admin/runs/{batch_id}").text)
    ok = alice.post(f"/admin/runs/{batch_id}/confirm", data={"csrf_token": token},
                    follow_redirects=False)
    assert ok.status_code == 303
    with session_scope(admin_ctx.engine) as session:
        assert session.get(BillingBatch, batch_id).status == "confirmed"


def test_the_login_form_is_csrf_protected_too(admin_app):
    client = TestClient(admin_app)
    client.get("/admin/login")
    response = client.post("/admin/login", data={"username": "ann", "password": PASSWORD})
    assert response.status_code == 403


def test_a_viewer_cannot_reach_an_approvers_action_by_url_or_api(admin_ctx, client_as):
    batch_id = _batch(admin_ctx)
    victor = client_as("victor")
    token = csrf_of(victor.get(f"/admin/runs/{batch_id}").text)
    assert "Confirm batch" not in victor.get(f"/admin/runs/{batch_id}").text
    by_url = victor.post(f"/admin/runs/{batch_id}/confirm", data={"csrf_token": token})
    assert by_url.status_code == 403
    assert "needs the approver role" in by_url.text
    # The REST API takes bearer tokens only: the viewer's session cookie is not enough.
    by_api = victor.post(f"/batches/{batch_id}/confirm")
    assert by_api.status_code == 401
    preview_by_url = victor.post("/admin/runs", data={"csrf_token": token,
                                                      "run_date": "2026-03-01"})
    assert preview_by_url.status_code == 403
    users_page = victor.get("/admin/users")
    assert users_page.status_code == 403
    with session_scope(admin_ctx.engine) as session:
        assert session.get(BillingBatch, batch_id).status == "preview"
        assert session.execute(select(BillingBatch)).scalars().all().__len__() == 1


def test_an_approver_cannot_manage_users(client_as):
    alice = client_as("alice")
    token = csrf_of(alice.get("/admin/").text)
    response = alice.post("/admin/users", data={"csrf_token": token, "username": "eve",
                                                "password": PASSWORD, "role": "admin"})
    assert response.status_code == 403


def test_passwords_are_stored_as_argon2_hashes_only(admin_ctx):
    with session_scope(admin_ctx.engine) as session:
        users = session.execute(select(User)).scalars().all()
        assert len(users) == 3
        for user in users:
            assert user.password_hash.startswith("$argon2id$")
            assert PASSWORD not in user.password_hash
        hashes = {u.password_hash for u in users}
    assert len(hashes) == 3  # salted: the same password never gives the same hash
    with admin_ctx.engine.connect() as conn:
        dump = "\n".join(str(row) for table in ("hub_user", "audit_event")
                         for row in conn.exec_driver_sql(f"select * from {table}"))
    assert PASSWORD not in dump


def test_the_session_cookie_is_signed_httponly_and_samesite(admin_app):
    client = TestClient(admin_app, base_url="https://hub.example")
    response = login(client, "ann")
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    lowered = cookie.lower()
    assert "httponly" in lowered and "samesite=lax" in lowered and "secure" in lowered
    page = client.get("/admin/", follow_redirects=False)
    assert page.status_code == 200
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    # A cookie changed by hand is not a session.
    value = client.cookies.get(SESSION_COOKIE)
    client.cookies.set(SESSION_COOKIE, value[:-2] + ("AA" if value[-2:] != "AA" else "BB"),
                       domain="hub.example")
    assert client.get("/admin/", follow_redirects=False).status_code == 303


def test_repeated_wrong_passwords_are_slowed_down(admin_app, admin_ctx, hub_clock):
    client = TestClient(admin_app)
    for _ in range(5):  # the first failures cost nothing more than a refusal
        assert login(client, "alice", "wrong password!").status_code == 401
    assert login(client, "alice", "wrong password!").status_code == 401  # this one locks
    locked = login(client, "alice")  # even the right password must wait now
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) >= 1
    assert "too many wrong passwords" in locked.text
    hub_clock.advance(seconds=int(locked.headers["Retry-After"]) + 1)
    assert login(client, "alice").status_code == 303
    # Each further failure doubles the wait.
    for _ in range(6):
        login(client, "alice", "wrong password!")
    first = int(login(client, "alice").headers["Retry-After"])
    hub_clock.advance(seconds=first + 1)
    login(client, "alice", "wrong password!")
    assert int(login(client, "alice").headers["Retry-After"]) > first


def test_unknown_users_and_wrong_passwords_get_the_same_answer(admin_app):
    client = TestClient(admin_app)
    nobody = login(client, "nobody")
    wrong = login(client, "ann", "not the password")
    assert nobody.status_code == wrong.status_code == 401
    assert "wrong username or password" in nobody.text and "wrong username or password" in wrong.text


def test_a_password_change_or_a_disable_ends_open_sessions(admin_ctx, client_as):
    from hub.access import disable_user, set_password

    alice, victor = client_as("alice"), client_as("victor")
    with session_scope(admin_ctx.engine) as session:
        set_password(session, "alice", "another long password")
        disable_user(session, "victor", now=admin_ctx.clock())
    for client in (alice, victor):
        response = client.get("/admin/", follow_redirects=False)
        assert response.status_code == 303 and "/admin/login" in response.headers["location"]
    assert login(TestClient(alice.app), "victor").status_code == 401


def test_pages_need_a_login_and_login_redirects_only_to_this_site(admin_app):
    client = TestClient(admin_app)
    response = client.get("/admin/invoices?status=paid", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/login?next=/admin/invoices%3Fstatus%3Dpaid"
    token = csrf_of(client.get("/admin/login").text)
    evil = client.post("/admin/login", data={"username": "ann", "password": PASSWORD,
                                             "csrf_token": token, "next": "//evil.example/"},
                       follow_redirects=False)
    assert evil.headers["location"] == "/admin/"


def test_the_rest_api_tokens_keep_working_and_are_named_in_the_audit(admin_ctx, admin_app):
    from hub.web.tokens import create_token

    token = create_token(admin_ctx.engine, "ci")
    _something_to_bill(admin_ctx)
    api = TestClient(admin_app, headers={"Authorization": f"Bearer {token}"})
    made = api.post("/batches", json={"run_date": "2026-02-01"})
    assert made.status_code == 201
    assert api.post(f"/batches/{made.json()['id']}/discard").status_code == 200
    with session_scope(admin_ctx.engine) as session:
        events = session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars().all()
        assert [(e.actor, e.via, e.action) for e in events if e.action.startswith("batch.")] == [
            ("token:ci", "api", "batch.previewed"), ("token:ci", "api", "batch.discarded")]


def test_one_client_trying_many_usernames_is_slowed_down_too(admin_app, hub_clock):
    from hub.access.throttle import MAX_FAILURES, WINDOW

    client = TestClient(admin_app)
    for n in range(MAX_FAILURES):  # a different name each time: no per-user lock applies
        assert login(client, f"guess{n}", "some password").status_code == 401
    refused = login(client, "ann")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    hub_clock.advance(seconds=WINDOW.total_seconds())
    assert login(client, "ann").status_code == 303


def test_the_client_limit_is_shared_by_every_web_process(admin_ctx, hub_clock):
    # two apps over one database stand for two web processes (replicas) of one hub
    from hub.access.throttle import MAX_FAILURES
    from hub.web.app import create_app

    first, second = TestClient(create_app(admin_ctx)), TestClient(create_app(admin_ctx))
    for n in range(MAX_FAILURES):  # spread over both
        assert login(first if n % 2 else second, f"guess{n}", "nope").status_code == 401
    assert login(first, "ann").status_code == 429
    assert login(second, "ann").status_code == 429


def _throttle_counts_in_the_database(engine) -> None:
    from hub.access.throttle import ClientThrottle
    from hub.db.models import metadata

    metadata.create_all(engine)
    now = dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.timezone.utc)
    one, other = ClientThrottle(engine, max_failures=3), ClientThrottle(engine, max_failures=3)
    for minute in range(3):
        (one if minute % 2 else other).failed("203.0.113.7", now + dt.timedelta(minutes=minute))
    later = now + dt.timedelta(minutes=3)
    # the oldest failure (9:00) leaves the ten-minute window at 9:10: 7 minutes from 9:03
    assert one.retry_after("203.0.113.7", later) == 7 * 60
    assert other.retry_after("203.0.113.7", later) == 7 * 60
    assert one.retry_after("198.51.100.2", later) is None  # another client is not held up
    assert one.retry_after("203.0.113.7", now + dt.timedelta(minutes=10)) is None
    # a failure after the window drops the old ones: nothing is kept for quiet clients
    one.failed("198.51.100.2", now + dt.timedelta(minutes=30))
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT client FROM login_failure").scalars().all() == [
            "198.51.100.2"]


def test_failed_logins_are_counted_in_sqlite(hub_engine):
    _throttle_counts_in_the_database(hub_engine)


@pytest.mark.postgres
def test_failed_logins_are_counted_in_postgresql(hub_postgres_url):
    from hub.db.engine import make_engine

    engine = make_engine(hub_postgres_url)
    try:
        _throttle_counts_in_the_database(engine)
    finally:
        engine.dispose()


def test_a_form_sent_without_a_session_leads_to_the_login_page(admin_ctx, admin_app):
    """Not logged in (the session ended, or the cookie was cleared): the answer is the login
    page and then the page the form was on, not a CSRF refusal; nothing is done."""
    batch_id = _batch(admin_ctx)
    visitor = TestClient(admin_app)
    response = visitor.post(f"/admin/runs/{batch_id}/confirm", data={},
                            headers={"Referer": f"http://testserver/admin/runs/{batch_id}"},
                            follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/admin/login?next=/admin/runs/{batch_id}"
    with session_scope(admin_ctx.engine) as session:
        assert session.get(BillingBatch, batch_id).status == "preview"
