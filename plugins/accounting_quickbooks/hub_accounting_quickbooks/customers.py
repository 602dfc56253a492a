"""Organisations as QuickBooks customers: found by their ``AcctNum`` (``HUB-<organisation
id>``) or a known Customer Id, created when missing, never duplicated.

QuickBooks keeps a customer's ``DisplayName`` unique, so a customer whose create answer was lost
is found again by its name, and it is taken as the organisation's only when its AcctNum says so:
a same-named customer the hub did not create is never adopted by name alone.
"""

from __future__ import annotations

from typing import Any

from hub_accounting_quickbooks.client import QuickBooksClient, fault_message
from hub_accounting_quickbooks.mapping import customer_element, customer_number, quote, request_id
from hub_accounting_quickbooks.store import Ledger

__all__ = ["ensure_customers", "NAMES_PER_QUERY"]

#: names per ``DisplayName in (...)`` query item (several items share one batch call)
NAMES_PER_QUERY = 100


def _lookup(client: QuickBooksClient, names: list[str]) -> list[dict[str, Any]]:
    """Customers with these display names: one batch call holds up to ``batch_size`` queries."""
    items = [{"bId": f"q{n}",
              "Query": "select * from Customer where DisplayName in ("
                       + ", ".join(quote(name) for name in names[start:start + NAMES_PER_QUERY])
                       + f") maxresults {NAMES_PER_QUERY}"}
             for n, start in enumerate(range(0, len(names), NAMES_PER_QUERY))]
    found: list[dict[str, Any]] = []
    size = client.settings.batch_size
    for start in range(0, len(items), size):
        chunk = items[start:start + size]
        answers = client.batch(chunk, request_id("customer-lookup",
                                                 [i["Query"] for i in chunk], 1))
        for item in chunk:
            found += answers.get(item["bId"], {}).get("QueryResponse", {}).get("Customer", [])
    return found


def ensure_customers(client: QuickBooksClient, organisations: dict[int, tuple[str, str | None]]
                     ) -> tuple[dict[int, str], dict[int, str]]:
    """Customer Ids for ``{organisation id: (name, known customer id or None)}``.

    Returns ``(found, refused)``: organisation id -> Customer Id, and organisation id ->
    why no customer could be had. Transient failures propagate.
    """
    settings = client.settings
    ledger = Ledger(client.connection)
    found: dict[int, str] = {}
    refused: dict[int, str] = {}
    missing: list[int] = []
    for org_id, (_, ref) in organisations.items():
        known = ref or ledger.customer_id(org_id)
        if known:
            found[org_id] = known
        else:
            missing.append(org_id)
    if not missing:
        return found, refused
    by_number = {customer_number(settings, org_id): org_id for org_id in missing}

    def adopt(org_ids: list[int]) -> None:
        names = sorted({organisations[o][0] for o in org_ids})
        for customer in _lookup(client, names):
            org_id = by_number.get(customer.get("AcctNum") or "")
            if org_id is not None and customer.get("Active", True):
                found[org_id] = customer["Id"]
                refused.pop(org_id, None)
                ledger.set_customer(org_id, customer["Id"])

    adopt(missing)
    to_create = [o for o in missing if o not in found]
    for start in range(0, len(to_create), settings.batch_size):
        chunk = to_create[start:start + settings.batch_size]
        items = [{"bId": f"c{o}", "operation": "create",
                  "Customer": customer_element(settings, o, organisations[o][0])} for o in chunk]
        answers = client.batch(items, request_id("customers",
                                                 [customer_number(settings, o) for o in chunk], 1))
        for org_id in chunk:
            answer = answers.get(f"c{org_id}", {})
            if "Customer" in answer:
                found[org_id] = answer["Customer"]["Id"]
                ledger.set_customer(org_id, answer["Customer"]["Id"])
            else:
                refused[org_id] = (f"{fault_message(answer)} (set Account no. "
                                   f"{customer_number(settings, org_id)} on the QuickBooks "
                                   "customer that is this organisation, or give the "
                                   "organisation its customer id)")
    if refused:
        # another worker may have created the same customer between our look-up and create
        adopt(sorted(refused))
    return found, refused
