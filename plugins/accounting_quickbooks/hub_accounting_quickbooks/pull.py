"""Documents as they stand in QuickBooks, for reconciliation and for bringing back what was done
there directly. Incremental: ``since`` filters on ``MetaData.LastUpdatedTime``; pages of 1,000
(``startposition``/``maxresults``) are read until a short page."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Iterator

from hub import ExternalDocument, Money

from hub_accounting_quickbooks.client import QuickBooksClient
from hub_accounting_quickbooks.store import Ledger
from hub_accounting_quickbooks.void import is_voided

__all__ = ["fetch_documents", "PAGE_SIZE", "external_document"]

PAGE_SIZE = 1000
_ENTITIES = {"invoice": "Invoice", "credit_note": "CreditMemo", "payment": "Payment"}


def _pages(client: QuickBooksClient, entity: str, since: dt.date | None) -> Iterator[dict]:
    where = f" where MetaData.LastUpdatedTime >= '{since.isoformat()}T00:00:00Z'" if since else ""
    start = 1
    while True:
        answer = client.query(f"select * from {entity}{where} startposition {start} "
                              f"maxresults {PAGE_SIZE}")
        items = answer.get(entity, [])
        yield from items
        if len(items) < PAGE_SIZE:
            return
        start += PAGE_SIZE


def _date(value: Any) -> dt.date | None:
    return dt.date.fromisoformat(str(value)[:10]) if value else None


def _status(kind: str, doc: dict[str, Any]) -> str:
    if kind == "payment":
        return "AUTHORISED"  # recorded and in force (a deleted payment is gone from QuickBooks)
    if kind == "invoice" and is_voided(doc):
        return "VOIDED"
    balance, total = Decimal(str(doc.get("Balance", 0))), Decimal(str(doc.get("TotalAmt", 0)))
    if kind == "credit_note":
        return "PAID" if Decimal(str(doc.get("RemainingCredit", 0))) == 0 else "AUTHORISED"
    return "PAID" if balance == 0 and total else "AUTHORISED"


def external_document(kind: str, doc: dict[str, Any], ledger: Ledger) -> ExternalDocument:
    """One QuickBooks entity as an :class:`ExternalDocument` (statuses in the words the hub's
    reconciliation knows from accounting systems: AUTHORISED, PAID, VOIDED)."""
    currency = (doc.get("CurrencyRef") or {}).get("value", "USD")
    attributes: dict[str, Any] = {}
    if kind == "payment":
        links = [t for line in doc.get("Line") or [] for t in line.get("LinkedTxn") or []
                 if t.get("TxnType") == "Invoice"]
        invoice_id = links[0]["TxnId"] if links else None
        attributes = {"invoice_id": invoice_id,
                      "invoice_hub_id": ledger.hub_id("invoice", invoice_id or "")}
        number = doc.get("PaymentRefNum")
    else:
        number = doc.get("DocNumber")
        for field in ("Balance", "RemainingCredit"):
            if field in doc:
                attributes[field] = str(doc[field])
        if "Balance" in doc:
            attributes["AmountDue"] = str(doc["Balance"])
    return ExternalDocument(
        kind=kind, external_id=doc["Id"], hub_id=ledger.hub_id(kind, doc["Id"]), number=number,
        organisation_ref=(doc.get("CustomerRef") or {}).get("value"), date=_date(doc.get("TxnDate")),
        total=Money(Decimal(str(doc.get("TotalAmt", 0))), currency), status=_status(kind, doc),
        attributes=attributes)


def fetch_documents(client: QuickBooksClient, kind: str, since: dt.date | None,
                    until: dt.date | None) -> list[ExternalDocument]:
    """Every ``kind`` document changed since ``since`` and dated up to ``until``."""
    if kind not in _ENTITIES:
        return []  # charges, refunds and disputes live at the payment processor
    ledger = Ledger(client.connection)
    documents = [external_document(kind, doc, ledger)
                 for doc in _pages(client, _ENTITIES[kind], since)]
    if until is not None:
        documents = [d for d in documents if d.date is None or d.date <= until]
    return documents
