"""Ids in the ledger, pre-bill and PDF routes follow the rules of the other routes and of the
CLI (``--organisation`` takes 1..2**31-1): 0 and ids past what an id column holds are refused
with a 422 naming the parameter, before any query runs — not answered with an empty list (a
filter of 0 read as "no such organisation") or with the database driver's overflow message."""

from __future__ import annotations

import pytest

from hub.testing.api import api_client

BIG = "99999999999999999999"


@pytest.fixture
def api(ctx):
    with api_client(ctx, "ids") as client:
        yield client


@pytest.mark.parametrize("path", ["/payments", "/credit-notes"])
@pytest.mark.parametrize("value", ["0", "-1", BIG])
def test_list_filters_refuse_ids_the_cli_refuses(api, path, value):
    answer = api.get(path, params={"organisation_id": value})
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith("query.organisation_id: Input should be")


@pytest.mark.parametrize("method,path", [
    ("GET", "/payments/{}"),
    ("POST", "/payments/{}/refund"),
    ("POST", "/payments/{}/allocate"),
    ("GET", "/ledger/invoices/{}"),
    ("PATCH", "/ledger/invoices/{}"),
    ("DELETE", "/ledger/invoices/{}"),
    ("POST", "/ledger/invoices/{}/mark-paid"),
    ("POST", "/ledger/invoices/{}/pay-from-balance"),
    ("POST", "/credit-notes/{}/apply/1"),
    ("POST", "/credit-notes/1/apply/{}"),
    ("GET", "/prebills/{}/options"),
    ("POST", "/prebills/{}/attach"),
    ("POST", "/prebills/{}/close"),
    ("GET", "/invoices/{}.pdf"),
    ("GET", "/credit-notes/{}.pdf"),
    ("GET", "/organisations/{}/statement.pdf?start=2026-01-01&end=2026-01-31"),
])
@pytest.mark.parametrize("value", ["0", BIG])
def test_path_ids_out_of_range_are_refused_by_their_type(api, method, path, value):
    body = {"use": "exact"} if path.endswith("/attach") else {}
    answer = api.request(method, path.format(value),
                         json=body if method in ("POST", "PATCH") else None)
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert detail.startswith("path.") and "Input should be" in detail, detail
    assert "SQLite" not in detail
