"""Documents as they stand at Xero, for reconciliation and for bringing back what was done
there directly. Incremental: ``since`` becomes ``If-Modified-Since``, so a daily pull reads only
what changed; pages of 100 are read until a short page.

Lines come with the pages at no extra cost: a *paged* ``GET /Invoices`` (or ``/CreditNotes``)
shows each document's ``LineItems`` (an unpaged or ``summaryOnly`` one leaves them out, which is
why ``page`` is always sent), so reconciliation compares lines without one call per document.
They are handed over as ``attributes["lines"]``: quantity, amount before tax, description."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Iterator

from hub import ExternalDocument, Money

from hub_accounting_xero.client import XeroClient
from hub_accounting_xero.store import Ledger
from hub_accounting_xero.xerodates import xero_date

__all__ = ["fetch_documents", "PAGE_SIZE"]

PAGE_SIZE = 100
_KINDS = {"invoice": ("/Invoices", "Invoices"), "credit_note": ("/CreditNotes", "CreditNotes"),
          "payment": ("/Payments", "Payments")}


def _pages(client: XeroClient, endpoint: str, key: str,
           since: dt.date | None) -> Iterator[dict[str, Any]]:
    modified = f"{since.isoformat()}T00:00:00" if since else None
    page = 1
    while True:
        answer = client.get(endpoint, params={"page": str(page), "pageSize": str(PAGE_SIZE)},
                            if_modified_since=modified)
        items = answer.get(key, [])
        yield from items
        if len(items) < PAGE_SIZE:
            return
        page += 1


def _lines(doc: dict[str, Any]) -> list[dict[str, str]]:
    """``LineItems`` as :mod:`hub.reconcile.accounting` compares them: amounts before tax."""
    inclusive = doc.get("LineAmountTypes") == "Inclusive"
    lines = []
    for item in doc["LineItems"]:
        amount = Decimal(str(item.get("LineAmount", 0)))
        if inclusive:  # the line's amount includes its tax
            amount -= Decimal(str(item.get("TaxAmount", 0)))
        lines.append({"quantity": str(item.get("Quantity", 1)), "amount": str(amount),
                      "description": str(item.get("Description") or "")})
    return lines


def _money(amount: Any, currency: str) -> Money:
    return Money(Decimal(str(amount)), currency)


def _document(kind: str, doc: dict[str, Any], ledger: Ledger) -> ExternalDocument:
    if kind == "payment":
        invoice = doc.get("Invoice") or {}
        currency = invoice.get("CurrencyCode", "USD")
        invoice_hub_id = ledger.hub_id("invoice", invoice.get("InvoiceID", ""))
        return ExternalDocument(
            kind="payment", external_id=doc["PaymentID"],
            hub_id=ledger.hub_id("payment", doc["PaymentID"]), number=doc.get("Reference"),
            organisation_ref=(invoice.get("Contact") or {}).get("ContactID"),
            date=xero_date(doc), total=_money(doc.get("Amount", 0), currency),
            status=doc.get("Status"),
            attributes={"invoice_id": invoice.get("InvoiceID"), "invoice_hub_id": invoice_hub_id,
                        "invoice_number": invoice.get("InvoiceNumber")})
    id_field, number_field = (("InvoiceID", "InvoiceNumber") if kind == "invoice"
                              else ("CreditNoteID", "CreditNoteNumber"))
    currency = doc.get("CurrencyCode", "USD")
    attributes: dict[str, Any] = {}
    for field in ("AmountDue", "AmountPaid", "AmountCredited", "RemainingCredit"):
        if field in doc:
            attributes[field] = str(doc[field])
    if doc.get("LineItems") is not None:
        attributes["lines"] = _lines(doc)
    if doc.get("Payments"):
        attributes["payments"] = [{"PaymentID": p["PaymentID"], "Amount": str(p["Amount"])}
                                  for p in doc["Payments"]]
    return ExternalDocument(
        kind=kind, external_id=doc[id_field], hub_id=ledger.hub_id(kind, doc[id_field]),
        number=doc.get(number_field), organisation_ref=(doc.get("Contact") or {}).get("ContactID"),
        date=xero_date(doc), total=_money(doc.get("Total", 0), currency), status=doc.get("Status"),
        attributes=attributes)


def fetch_documents(client: XeroClient, kind: str, since: dt.date | None,
                    until: dt.date | None) -> list[ExternalDocument]:
    """Every ``kind`` document changed since ``since`` and dated up to ``until``."""
    if kind not in _KINDS:
        return []  # charges, refunds and disputes live at the payment processor, not Xero
    endpoint, key = _KINDS[kind]
    ledger = Ledger(client.connection)
    documents = [_document(kind, doc, ledger) for doc in _pages(client, endpoint, key, since)]
    if until is not None:
        documents = [d for d in documents if d.date is None or d.date <= until]
    return documents
