"""The Accounting API endpoints the plugin uses, over :class:`Books`.

Each handler takes the parsed request and returns ``(status, body)``; the ASGI layer in
:mod:`.server` does authentication, limits, schema checks, idempotency and fault injection.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from hub_accounting_xero.sandbox.books import Books, XeroRefusal
from hub_accounting_xero.sandbox.render import (
    envelope, parse_modified_since, parse_where, validation_exception,
)

__all__ = ["Call", "dispatch"]

_ID = r"(?P<id>[0-9a-fA-F-]{36})"


@dataclass(frozen=True)
class Call:
    """One accounting request as the handlers see it."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: Any


def _summarize(call: Call) -> bool:
    # Xero's real default is to summarise: one bad element fails the whole request
    return call.query.get("summarizeErrors", "true") != "false"


def _create(books: Books, call: Call, key: str, create: Callable[[dict], tuple]) -> tuple[int, dict]:
    elements = (call.body or {}).get(key) or []
    before = books.snapshot() if _summarize(call) else None
    results = []
    failed = []
    for el in elements:
        doc, errors = create(el)
        if errors:
            out = {**el, "HasErrors": True, "StatusAttributeString": "ERROR",
                   "ValidationErrors": [{"Message": m} for m in errors]}
            failed.append(out)
            results.append(out)
        else:
            results.append({**doc, "StatusAttributeString": "OK"})
    if failed and before is not None:
        # Xero applies nothing it accepted when the request is summarised and fails
        books.restore(before)
        return 400, validation_exception(failed)
    return 200, envelope(books.now(), key, results)


def _list(books: Books, call: Call, key: str, docs: list[dict[str, Any]],
          id_key: str) -> tuple[int, dict]:
    q = call.query
    if "IDs" in q:
        wanted = set(q["IDs"].split(","))
        docs = [d for d in docs if d[id_key] in wanted]
    if "InvoiceNumbers" in q:
        wanted = set(q["InvoiceNumbers"].split(","))
        docs = [d for d in docs if d.get("InvoiceNumber") in wanted]
    if "ContactIDs" in q:
        wanted = set(q["ContactIDs"].split(","))
        docs = [d for d in docs if d.get("Contact", {}).get("ContactID") in wanted]
    if "Statuses" in q:
        wanted = set(q["Statuses"].split(","))
        docs = [d for d in docs if d.get("Status") in wanted]
    if "where" in q:
        try:
            predicate = parse_where(q["where"])
        except ValueError as exc:
            return 400, validation_exception(message=str(exc))
        docs = [d for d in docs if predicate(d)]
    since = call.headers.get("if-modified-since")
    if since:
        when = parse_modified_since(since)
        docs = [d for d in docs if d["UpdatedDateUTC"] > when]
    docs = sorted(docs, key=lambda d: (d["UpdatedDateUTC"], d[id_key]))
    extra: dict[str, Any] = {}
    if "page" in q:
        size = min(int(q.get("pageSize", 100)), 1000)
        page = max(1, int(q["page"]))
        total = len(docs)
        docs = docs[(page - 1) * size: page * size]
        extra["pagination"] = {"page": page, "pageSize": size, "itemCount": total,
                               "pageCount": -(-total // size)}
    if key in ("Invoices", "CreditNotes") and ("page" not in q
                                               or q.get("summaryOnly") == "true"):
        # Xero shows line items in a list only when it is paged (and not summaryOnly)
        docs = [{k: v for k, v in d.items() if k != "LineItems"} for d in docs]
    return 200, envelope(books.now(), key, docs, **extra)


def _refusal(exc: XeroRefusal) -> tuple[int, dict]:
    element = {**exc.element, "ValidationErrors": [{"Message": m} for m in exc.messages]}
    return 400, validation_exception([element])


def _not_found() -> tuple[int, dict]:
    return 404, {"Title": "Not Found", "Status": 404, "Detail": "The resource was not found"}


def dispatch(books: Books, call: Call) -> tuple[int, dict]:
    """Answer one accounting request."""
    m, p = call.method, call.path
    body = call.body or {}
    try:
        if p == "/TaxRates" and m == "GET":
            rates = [{"Name": name, "TaxType": tax_type, "Status": "ACTIVE",
                      "EffectiveRate": rate, "DisplayTaxRate": rate, "CanApplyToRevenue": True}
                     for tax_type, (name, rate) in sorted(books.tax_types.items())]
            return 200, envelope(books.now(), "TaxRates", rates)
        if p == "/Contacts":
            if m == "GET":
                return _list(books, call, "Contacts", list(books.contacts.values()), "ContactID")
            return _create(books, call, "Contacts", books.create_contact)
        if p == "/Invoices":
            if m == "GET":
                return _list(books, call, "Invoices", list(books.invoices.values()), "InvoiceID")
            return _create(books, call, "Invoices", books.create_invoice)
        if match := re.fullmatch(r"/Invoices/" + _ID, p):
            invoice_id = match["id"]
            if m == "GET":
                inv = books.invoices.get(invoice_id)
                return (200, envelope(books.now(), "Invoices", [inv])) if inv else _not_found()
            el = (body.get("Invoices") or [{}])[0]
            inv = books.update_invoice(invoice_id, el)
            return 200, envelope(books.now(), "Invoices", [inv])
        if p == "/CreditNotes":
            if m == "GET":
                return _list(books, call, "CreditNotes", list(books.credit_notes.values()),
                             "CreditNoteID")
            return _create(books, call, "CreditNotes", books.create_credit_note)
        if (match := re.fullmatch(r"/CreditNotes/" + _ID, p)) and m == "GET":
            note = books.credit_notes.get(match["id"])
            return (200, envelope(books.now(), "CreditNotes", [note])) if note else _not_found()
        if match := re.fullmatch(r"/CreditNotes/" + _ID + "/Allocations", p):
            credit_note_id = match["id"]
            return _create(books, call, "Allocations",
                           lambda el: books.allocate(credit_note_id, el))
        if p == "/Payments":
            if m == "GET":
                return _list(books, call, "Payments", list(books.payments.values()), "PaymentID")
            return _create(books, call, "Payments", books.create_payment)
        if match := re.fullmatch(r"/Payments/" + _ID, p):
            payment_id = match["id"]
            if m == "GET":
                pay = books.payments.get(payment_id)
                return (200, envelope(books.now(), "Payments", [pay])) if pay else _not_found()
            if body.get("Status") != "DELETED":
                return 400, validation_exception(message="Payments can only be deleted.")
            return 200, envelope(books.now(), "Payments", [books.delete_payment(payment_id)])
    except XeroRefusal as exc:
        return _refusal(exc)
    except KeyError:
        return _not_found()
    return _not_found()

