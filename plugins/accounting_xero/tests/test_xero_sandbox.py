"""The sandbox itself: it must refuse what Xero refuses, or the plugin's tests prove nothing."""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from hub import PushStatus

from hub_accounting_xero import plugin
from hub_accounting_xero.auth import TOKENS
from hub_accounting_xero.ratelimit import PAUSED_UNTIL
from hub_accounting_xero.sandbox import API_PREFIX, Limits, XeroSandbox
from hub_accounting_xero.testing import connected, invoice_doc


def raw_client(sandbox, url):
    conn = connected(sandbox, url)
    headers = {"Authorization": f"Bearer {conn.state.get(TOKENS)['access_token']}",
               "xero-tenant-id": sandbox.tenant.tenant_id}
    return httpx.Client(base_url=url + API_PREFIX, headers=headers)


def contact_id(sandbox):
    contact, _ = sandbox.books().create_contact({"Name": "Acme", "ContactNumber": "HUB-1"})
    return contact["ContactID"]


def invoice_body(cid, number="INV-1", **extra):
    return {"Invoices": [{"Type": "ACCREC", "Contact": {"ContactID": cid}, "InvoiceNumber": number,
                          "Date": "2026-11-01", "DueDate": "2026-12-01", "Status": "AUTHORISED",
                          "LineItems": [{"Description": "x", "Quantity": 1, "UnitAmount": 10,
                                         "AccountCode": "200"}], **extra}]}


@pytest.mark.parametrize("extra, problem", [
    ({"Total": 10}, "read-only"),                    # Xero computes totals
    ({"InvoiceNo": "1"}, "Additional properties"),   # a misspelt field Xero would drop
    ({"Type": "INVOICE"}, "is not one of"),
    ({"BrandingThemeID": "not-a-uuid"}, "uuid"),
])
def test_body_breaking_the_openapi_schema_is_refused_and_recorded(extra, problem):
    sandbox = XeroSandbox(scale=60)
    with sandbox.serve() as url, raw_client(sandbox, url) as http:
        answer = http.put("/Invoices", params={"summarizeErrors": "false"},
                          json=invoice_body(contact_id(sandbox), **extra))
    assert answer.status_code == 400 and problem in answer.json()["Message"]
    assert sandbox.schema_violations and not sandbox.books().invoices


def test_undeclared_query_parameter_and_long_idempotency_key_are_refused():
    sandbox = XeroSandbox(scale=60)
    with sandbox.serve() as url, raw_client(sandbox, url) as http:
        assert http.get("/Invoices", params={"limit": "5"}).status_code == 400
        answer = http.put("/Invoices", headers={"Idempotency-Key": "k" * 129},
                          json=invoice_body(contact_id(sandbox)))
        assert answer.status_code == 400 and "128" in answer.json()["Message"]
    assert len(sandbox.schema_violations) == 2


def test_summarised_errors_fail_the_whole_request_and_store_nothing(sandbox, xero_url):
    with raw_client(sandbox, xero_url) as http:
        cid = contact_id(sandbox)
        body = invoice_body(cid)
        body["Invoices"].append({**invoice_body(cid, "INV-2")["Invoices"][0], "LineItems": []})
        answer = http.put("/Invoices", json=body)
        assert answer.status_code == 400
        assert answer.json()["Elements"][0]["ValidationErrors"][0]["Message"] == \
            "At least one line item must be specified."
        assert not sandbox.books().invoices
        answer = http.put("/Invoices", params={"summarizeErrors": "false"}, json=body)
        assert answer.status_code == 200
        first, second = answer.json()["Invoices"]
        assert first["StatusAttributeString"] == "OK" and second["HasErrors"] is True
        assert len(sandbox.books().invoices) == 1


def test_idempotency_key_replays_for_minutes_only(sandbox, xero_url):
    with raw_client(sandbox, xero_url) as http:
        body = invoice_body(contact_id(sandbox))
        key = {"Idempotency-Key": "hub-invoice-abc-a1"}
        first = http.put("/Invoices", json=body, headers=key)
        second = http.put("/Invoices", json=body, headers=key)
        assert first.json() == second.json() and len(sandbox.books().invoices) == 1
        assert sandbox.api_calls()[-1].replayed
        sandbox.clock.advance(301)
        http.put("/Invoices", json=body, headers=key)
    assert len(sandbox.books().invoices) == 2  # forgotten: stored again (unique_numbers off)


def test_minute_limit_headers_and_429():
    sandbox = XeroSandbox(scale=1, limits=Limits(per_minute=3, per_day=100))
    with sandbox.serve() as url, raw_client(sandbox, url) as http:
        remaining = [http.get("/Invoices").headers["X-MinLimit-Remaining"] for _ in range(3)]
        refused = http.get("/Invoices")
    assert remaining == ["2", "1", "0"]
    assert refused.status_code == 429 and refused.headers["X-Rate-Limit-Problem"] == "minute"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["X-DayLimit-Remaining"] == "97"
    assert "X-AppMinLimit-Remaining" in refused.headers


def test_in_flight_limit():
    sandbox = XeroSandbox(scale=60, limits=Limits(in_flight=2))
    sandbox.inject("slow", times=None, method="GET", seconds=0.5)
    with sandbox.serve() as url, raw_client(sandbox, url) as http:
        statuses = []
        threads = [threading.Thread(target=lambda: statuses.append(http.get("/Invoices")))
                   for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    codes = sorted(r.status_code for r in statuses)
    assert codes == [200, 200, 429]
    assert [r for r in statuses if r.status_code == 429][0].headers["X-Rate-Limit-Problem"] == "concurrent"


def test_day_limit_pauses_that_connection_only():
    sandbox = XeroSandbox(scale=60, limits=Limits(per_day=6))
    other = sandbox.identity.add_tenant("Other Org")
    with sandbox.serve() as url:
        a = connected(sandbox, url, name="a", tenant_id=sandbox.tenant.tenant_id)
        b = connected(sandbox, url, name="b", tenant_id=other.tenant_id)
        outcomes = []
        for i in range(1, 6):
            outcomes += plugin.hub_push_invoices(connection=a, invoices=[invoice_doc(i)])
        assert outcomes[-1].status is PushStatus.retry and outcomes[-1].retry_after > 60
        assert a.state.get(PAUSED_UNTIL)
        calls = len(sandbox.api_calls())
        [paused] = plugin.hub_push_invoices(connection=a, invoices=[invoice_doc(9)])
        assert paused.status is PushStatus.retry and len(sandbox.api_calls()) == calls
        [fine] = plugin.hub_push_invoices(connection=b, invoices=[invoice_doc(1)])
        assert fine.status is PushStatus.synced
    assert not sandbox.schema_violations


def test_authorised_invoice_cannot_be_deleted_and_payment_not_exceed_due(sandbox, xero_url):
    with raw_client(sandbox, xero_url) as http:
        created = http.put("/Invoices", json=invoice_body(contact_id(sandbox))).json()
        invoice_id = created["Invoices"][0]["InvoiceID"]
        refused = http.post(f"/Invoices/{invoice_id}",
                            json={"Invoices": [{"InvoiceID": invoice_id, "Status": "DELETED"}]})
        assert refused.status_code == 400 and "valid status" in json.dumps(refused.json())
        pay = {"Payments": [{"Invoice": {"InvoiceID": invoice_id}, "Account": {"Code": "090"},
                             "Date": "2026-11-02", "Amount": 10.01}]}
        answer = http.put("/Payments", params={"summarizeErrors": "false"}, json=pay)
        assert answer.json()["Payments"][0]["ValidationErrors"][0]["Message"] == \
            "Payment amount exceeds the amount outstanding on this document."
