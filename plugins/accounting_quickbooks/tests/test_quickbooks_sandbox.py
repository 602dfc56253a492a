"""The sandbox itself: it must refuse what QuickBooks refuses, or the plugin's tests prove
nothing. A planted bad body is caught by the XSD check (so the check can fail)."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from hub import exact_json

from hub_accounting_quickbooks.auth import TOKENS
from hub_accounting_quickbooks.sandbox import Limits, QuickBooksSandbox
from hub_accounting_quickbooks.sandbox.schema import XsdChecker, load_checker
from hub_accounting_quickbooks.testing import connected

GOOD_INVOICE = {
    "DocNumber": "INV-1", "TxnDate": "2026-11-01", "CustomerRef": {"value": "101"},
    "CurrencyRef": {"value": "USD"}, "GlobalTaxCalculation": "TaxExcluded",
    "Line": [{"DetailType": "SalesItemLineDetail", "Amount": Decimal("90.00"),
              "Description": "Managed workstation",
              "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": Decimal("2"),
                                      "UnitPrice": Decimal("45.00"),
                                      "TaxCodeRef": {"value": "5"}}}]}


def raw_client(sandbox, url):
    conn = connected(sandbox, url)
    headers = {"Authorization": f"Bearer {conn.state.get(TOKENS)['access_token']}",
               "Content-Type": "application/json"}
    return httpx.Client(base_url=f"{url}/v3/company/{sandbox.realm_id}", headers=headers)


@pytest.mark.parametrize("planted, complaint", [
    ({"TotalAmt": Decimal("90.00")}, "Invoice.TotalAmt: read-only"),
    ({"Balance": Decimal("90.00")}, "Invoice.Balance: read-only"),
    ({"MetaData": {"CreateTime": "2026-11-01T00:00:00Z"}}, "Invoice.MetaData: read-only"),
    ({"Customer": {"value": "101"}}, "Invoice.Customer: not a field of Invoice"),
    ({"Id": "7"}, "Invoice.Id: not allowed on a create"),
    ({"TxnDate": "01/11/2026"}, "XSD:"),
    ({"GlobalTaxCalculation": "Inclusive"}, "XSD:"),
])
def test_a_planted_bad_invoice_body_is_caught(planted, complaint):
    checker = load_checker()
    assert checker.entity_errors("Invoice", GOOD_INVOICE) == []
    problems = checker.entity_errors("Invoice", {**GOOD_INVOICE, **planted})
    assert any(complaint in p for p in problems), problems


def test_a_float_amount_and_a_bad_line_field_are_caught():
    checker = load_checker()
    line = {**GOOD_INVOICE["Line"][0], "Amount": 90.0}
    assert any("float" in p for p in checker.entity_errors("Invoice", {**GOOD_INVOICE,
                                                                       "Line": [line]}))
    detail = {**GOOD_INVOICE["Line"][0]["SalesItemLineDetail"], "TaxCode": {"value": "5"}}
    line = {**GOOD_INVOICE["Line"][0], "SalesItemLineDetail": detail}
    assert any("SalesItemLineDetail.TaxCode: not a field" in p
               for p in checker.entity_errors("Invoice", {**GOOD_INVOICE, "Line": [line]}))
    assert checker.entity_errors("Payment", {"Id": "3"}, "delete") == \
        ["Payment.SyncToken: required to delete"]


def test_the_sandbox_refuses_and_records_a_bad_body(qbo_url, sandbox):
    with raw_client(sandbox, qbo_url) as http:
        answer = http.post("/batch", params={"minorversion": "75"}, content=exact_json.dumps(
            {"BatchItemRequest": [{"bId": "1", "operation": "create",
                                   "Invoice": {**GOOD_INVOICE, "Totl": Decimal("1")}}]}))
    assert answer.status_code == 400
    assert "Invoice.Totl: not a field of Invoice" in answer.json()["Fault"]["Error"][0]["Detail"]
    assert len(sandbox.schema_violations) == 1
    sandbox.schema_violations.clear()  # planted on purpose: the fixture would fail the test


def test_minorversion_is_required(qbo_url, sandbox):
    with raw_client(sandbox, qbo_url) as http:
        answer = http.get("/query", params={"query": "select * from Customer"})
    assert answer.status_code == 400
    assert "minorversion" in answer.json()["Fault"]["Error"][0]["Detail"]
    sandbox.schema_violations.clear()


def test_duplicate_number_stale_sync_token_and_throttle(qbo_url):
    sandbox = QuickBooksSandbox(scale=1, limits=Limits(per_second=3))
    with sandbox.serve() as url, raw_client(sandbox, url) as http:
        books = sandbox.books()
        customer = books.create_customer({"DisplayName": "Acme"})
        invoice = {**GOOD_INVOICE, "CustomerRef": {"value": customer["Id"]}}
        first = books.create_invoice(invoice)
        with pytest.raises(Exception) as info:
            books.create_invoice(invoice)
        assert info.value.code == "6140"
        with pytest.raises(Exception) as info:
            books.void_invoice({"Id": first["Id"], "SyncToken": "7"})
        assert info.value.code == "5010"
        statuses = [http.get(f"/invoice/{first['Id']}", params={"minorversion": "75"}).status_code
                    for _ in range(5)]
        assert 429 in statuses and statuses[0] == 200
    assert not sandbox.schema_violations


def test_xsd_checker_reads_the_shared_specs():
    assert isinstance(load_checker(), XsdChecker)
    assert "Invoice" in load_checker().schema.elements
