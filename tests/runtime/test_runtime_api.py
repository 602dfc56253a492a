"""REST API: bearer tokens (stored hashed), /status, /jobs, /docs, plugin routes."""

from __future__ import annotations

import hashlib

import pytest
from dramatiq.brokers.stub import StubBroker
from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy import select

from hub import hookimpl
from hub.db.engine import session_scope
from hub.db.models import ApiToken
from hub.errors import ValidationFailed
from hub.jobs import build_runtime
from hub.jobs.records import record_failure
from hub.web.app import create_app
from hub.web.tokens import create_token


class RoutesPlugin:
    @hookimpl
    def hub_register_routes(self, router: APIRouter):
        @router.get("/demo/callback")
        def callback() -> dict:
            return {"plugin": "demo"}


@pytest.fixture
def api(make_hub_context):
    ctx = make_hub_context(RoutesPlugin())
    runtime = build_runtime(ctx, broker=StubBroker())
    yield ctx, TestClient(create_app(ctx, runtime))
    runtime.close()


def test_token_is_shown_once_and_stored_hashed(api):
    ctx, client = api
    token = create_token(ctx.engine, "ops")
    with session_scope(ctx.engine) as session:
        row = session.execute(select(ApiToken)).scalar_one()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in row.token_hash
    with pytest.raises(ValidationFailed):
        create_token(ctx.engine, "ops")


def test_endpoints_need_a_valid_bearer_token(api):
    ctx, client = api
    token = create_token(ctx.engine, "ops")
    assert client.get("/status").status_code == 401
    assert client.get("/status", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/jobs", headers={"Authorization": f"Basic {token}"}).status_code == 401
    answer = client.get("/status", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    assert answer.json()["failed_jobs"] == 0
    assert client.get("/health").json() == {"status": "ok"}


def test_failed_jobs_are_listed_and_replayed_over_the_api(api):
    ctx, client = api
    headers = {"Authorization": f"Bearer {create_token(ctx.engine, 'ops')}"}
    record_failure(ctx.engine, actor="pull_connection", args=["psa"], reason="boom", attempts=3,
                   connection="psa")
    jobs = client.get("/jobs?failed=true", headers=headers).json()
    assert [(j["actor"], j["reason"]) for j in jobs] == [("pull_connection", "boom")]
    # The replay is requested; the next dispatcher pass sends the message.
    assert client.post(f"/jobs/{jobs[0]['id']}/retry", headers=headers).json()["status"] == "requested"
    assert client.get("/jobs?failed=true", headers=headers).json() == []
    from hub.jobs.dispatcher import Dispatcher

    runtime = client.app.state.runtime
    assert Dispatcher(runtime).dispatch_once() == 1
    assert runtime.broker.queues["hub"].qsize() == 1
    assert client.get("/jobs", headers=headers).json()[0]["status"] == "retried"
    assert client.post("/jobs/999/retry", headers=headers).status_code == 404
    # replaying it again: the job is there, its status forbids it (409, with the usual body)
    again = client.post(f"/jobs/{jobs[0]['id']}/retry", headers=headers)
    assert again.status_code == 409 and again.json()["error"] == "EditNotAllowed"
    assert "is not failed" in again.json()["detail"]


@pytest.mark.parametrize("query", ["limit=0", "limit=-1", "limit=1001", "limit=abc",
                                   "limit=9223372036854775808"])
def test_the_jobs_list_refuses_a_limit_out_of_range(api, query):
    ctx, client = api
    headers = {"Authorization": f"Bearer {create_token(ctx.engine, 'ops')}"}
    assert client.get(f"/jobs?{query}", headers=headers).status_code == 422


def test_sync_status_of_a_document_the_hub_does_not_hold_is_404(api):
    ctx, client = api
    headers = {"Authorization": f"Bearer {create_token(ctx.engine, 'ops')}"}
    for path in ("/jobs/documents/invoice/99999", "/jobs/documents/payment/5"):
        answer = client.get(path, headers=headers)
        assert answer.status_code == 404 and answer.json()["error"] == "NotFound", path
    for path in ("/jobs/documents/invoice/0", "/jobs/documents/invoice/-1",
                 "/jobs/documents/credit_note/9223372036854775808"):
        assert client.get(path, headers=headers).status_code == 422, path


def test_docs_and_plugin_routes_are_served(api):
    ctx, client = api
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert "/webhooks/{connection}" in paths and "/jobs" in paths
    assert client.get("/plugins/demo/callback").json() == {"plugin": "demo"}


def test_document_sync_status(api, seeding):
    from hub.db.models import OutboxEntry, OutboxStatus

    ctx, client = api
    headers = {"Authorization": f"Bearer {create_token(ctx.engine, 'ops')}"}
    [invoice_id] = seeding.seed_invoices(ctx.engine, 1, "books")
    with session_scope(ctx.engine) as session:
        row = session.execute(select(OutboxEntry)).scalar_one()
        row.status, row.attempts, row.last_error = OutboxStatus.failed, 1, "Total must not be negative"
    answer = client.get(f"/jobs/documents/invoice/{invoice_id}", headers=headers).json()
    assert [(a["connection"], a["effect"], a["status"], a["last_error"]) for a in answer] == [
        ("books", "push", "failed", "Total must not be negative")]
