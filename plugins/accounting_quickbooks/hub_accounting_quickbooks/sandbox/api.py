"""The Accounting API endpoints the plugin uses, over :class:`Books`.

Each handler takes the parsed request and returns ``(status, body)``; the ASGI layer in
:mod:`.server` does authentication, throttles, the XSD check, ``requestid`` replay and fault
injection.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Mapping

from hub_accounting_quickbooks.sandbox.books import Books, QboFault
from hub_accounting_quickbooks.sandbox.query import parse_query

__all__ = ["dispatch", "run_query", "ENTITY_PATHS", "MAX_BATCH_ITEMS"]

#: resource path -> entity name, as in ``/v3/company/{realm}/invoice``
ENTITY_PATHS = {"invoice": "Invoice", "creditmemo": "CreditMemo", "payment": "Payment",
                "customer": "Customer"}
MAX_BATCH_ITEMS = 30


def _stamp(books: Books) -> str:
    return books.now().isoformat()


def run_query(books: Books, statement: str) -> dict[str, Any]:
    """A ``QueryResponse`` for ``statement``."""
    query = parse_query(statement)
    source = {"TaxCode": books.tax_codes, "TaxRate": books.tax_rates}.get(query.entity) or \
        books.store.get(query.entity)
    if source is None:
        raise QboFault("4000", "Error parsing query",
                       f"QueryParserError: unknown entity {query.entity}",
                       kind="QueryParserError")
    rows = sorted((d for d in source.values() if query.predicate(d)),
                  key=lambda d: (len(str(d["Id"])), str(d["Id"])))
    page = rows[query.start - 1: query.start - 1 + query.max_results]
    if not page:
        return {}
    return {query.entity: page, "startPosition": query.start, "maxResults": len(page)}


def _write(books: Books, entity: str, operation: str, body: dict[str, Any]) -> dict[str, Any]:
    handlers = {("Invoice", "create"): books.create_invoice,
                ("CreditMemo", "create"): books.create_credit_memo,
                ("Customer", "create"): books.create_customer,
                ("Payment", "create"): books.create_payment,
                ("Invoice", "void"): books.void_invoice,
                ("Payment", "delete"): books.delete_payment}
    handler = handlers.get((entity, operation))
    if handler is None:
        raise QboFault("2010", "Request has invalid or unsupported property",
                       f"operation {operation} of {entity} is not supported by the sandbox")
    return handler(body)


def _batch(books: Books, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    items = body.get("BatchItemRequest") or []
    if len(items) > MAX_BATCH_ITEMS:
        raise QboFault("2010", "Request has invalid or unsupported property",
                       f"a batch takes at most {MAX_BATCH_ITEMS} items, not {len(items)}")
    answers = []
    for item in items:
        bid = item.get("bId")
        try:
            if "Query" in item:
                answers.append({"bId": bid, "QueryResponse": run_query(books, item["Query"])})
                continue
            entity = next(k for k in item if k not in ("bId", "operation", "optionsData"))
            result = _write(books, entity, item.get("operation", "create"), item[entity])
            answers.append({"bId": bid, entity: result})
        except QboFault as fault:
            answers.append({"bId": bid, "Fault": fault.body()})
    return 200, {"BatchItemResponse": answers, "time": _stamp(books)}


def _cdc(books: Books, query: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
    try:
        since = dt.datetime.fromisoformat(query["changedSince"].replace("Z", "+00:00"))
    except (KeyError, ValueError):
        raise QboFault("2010", "Request has invalid or unsupported property",
                       "changedSince must be a date-time") from None
    if since < books.now() - dt.timedelta(days=30):
        raise QboFault("2010", "Request has invalid or unsupported property",
                       "changedSince may be at most 30 days back")
    parts = []
    for entity in query.get("entities", "").split(","):
        changed = {i for e, i, _, when in books.changes if e == entity and when > since}
        current = [d for i, d in books.store.get(entity, {}).items() if i in changed]
        gone = [{"Id": i, "status": "Deleted", "MetaData": d.get("MetaData", {})}
                for i, d in books.deleted.items() if i in changed] if entity == "Payment" else []
        parts.append({entity: current + gone, "startPosition": 1,
                      "maxResults": len(current) + len(gone)})
    return 200, {"CDCResponse": [{"QueryResponse": parts}], "time": _stamp(books)}


def dispatch(books: Books, method: str, path: str, query: Mapping[str, str],
             body: Any) -> tuple[int, dict[str, Any]]:
    """Answer one accounting request (``path`` under ``/v3/company/{realm}``)."""
    try:
        if path == "/query" and method == "GET":
            return 200, {"QueryResponse": run_query(books, query.get("query", "")),
                         "time": _stamp(books)}
        if path == "/batch" and method == "POST":
            return _batch(books, body or {})
        if path == "/cdc" and method == "GET":
            return _cdc(books, query)
        match = re.fullmatch(r"/(?P<kind>[a-z]+)(?:/(?P<id>\d+))?", path)
        if match and match["kind"] in ENTITY_PATHS:
            entity = ENTITY_PATHS[match["kind"]]
            if method == "GET" and match["id"]:
                return 200, {entity: books.get(entity, match["id"]), "time": _stamp(books)}
            if method == "POST" and not match["id"]:
                result = _write(books, entity, query.get("operation", "create"), body or {})
                return 200, {entity: result, "time": _stamp(books)}
        return 404, {"Fault": QboFault("2000", "Unsupported operation",
                                       f"{method} {path} is not an endpoint").body()}
    except QboFault as fault:
        return 400, {"Fault": fault.body(), "time": _stamp(books)}
