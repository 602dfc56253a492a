"""Xero webhooks: payments recorded and invoices voided directly in Xero become PaymentEvents.

Xero signs each delivery with ``x-xero-signature`` = base64(HMAC-SHA256(webhook key, raw
body)) and first sends an *intent to receive* (no events) expecting 200 for a good signature
and 401 for a bad one. Invoice events only name the invoice, so the invoices are read back (one
call per 40) and compared with what the plugin knows:

- a payment on a hub invoice that the hub did not push -> ``payment_succeeded``
  (``object_id`` = Xero PaymentID);
- a payment seen before that has since disappeared (deleted in Xero, not reversed by the
  hub) -> ``refunded`` of it;
- a hub invoice now VOIDED -> ``invoice_voided``.

Event ids are stable, so a repeated delivery yields the same events and the host stores each
once. Invoices the hub never pushed are not the hub's business and are skipped.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from decimal import Decimal
from typing import Any, Callable, Iterable

from hub import (
    Connection, Money, PaymentEvent, PaymentEventKind, WebhookRejected, WebhookRequest,
)

from hub_accounting_xero.auth import TENANT
from hub_accounting_xero.client import XeroClient
from hub_accounting_xero.store import Ledger
from hub_accounting_xero.xerodates import xero_datetime

__all__ = ["receive", "verify_signature", "events_from_invoices"]

LOOKUP_CHUNK = 40


def verify_signature(key: str, body: bytes, signature: str | None) -> bool:
    """True when ``signature`` is Xero's base64 HMAC-SHA256 of ``body`` under ``key``."""
    if not signature:
        return False
    expected = base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, signature.strip())


def _seen_key(invoice_id: str) -> str:
    return f"xero-payments-of:{invoice_id}"


def _payment_account(lookup: Callable[[str], dict[str, Any] | None] | None,
                     payment_id: str) -> dict[str, Any]:
    """The account a payment entered in Xero was received into (``{"Code": ...}``), read
    from ``/Payments/{id}``: an invoice's ``Payments`` list does not carry it."""
    if lookup is None:
        return {}
    payment = lookup(payment_id) or {}
    return dict(payment.get("Account") or {})


def _xero_payment_fields(payment: dict[str, Any], account: dict[str, Any]) -> dict[str, Any]:
    """What the ledger keeps of a payment entered in Xero: Xero's own reference (not its id)
    and how it came — Xero receives customer payments into a bank account (or an account
    with payments enabled), so a bank transfer into that account, named in the note."""
    code = account.get("Code")
    name = account.get("Name")
    where = f" into account {code}" + (f" ({name})" if name else "") if code else ""
    return {"method": "bank_transfer",
            "reference": (payment.get("Reference") or "").strip() or None,
            "message": f"payment recorded in Xero{where}"}


def events_from_invoices(connection: Connection, invoices: Iterable[dict[str, Any]],
                         occurred_at, payment_lookup: Callable[[str], dict[str, Any] | None]
                         | None = None) -> list[PaymentEvent]:
    """PaymentEvents for what changed at Xero on these (hub) invoices. ``payment_lookup``
    reads one payment by id (for the account it went into)."""
    ledger = Ledger(connection)
    events: list[PaymentEvent] = []
    for invoice in invoices:
        xero_id = invoice["InvoiceID"]
        hub_id = ledger.hub_id("invoice", xero_id)
        if hub_id is None:
            continue
        currency = invoice.get("CurrencyCode", "USD")
        seen: dict[str, str] = dict(connection.state.get(_seen_key(xero_id)) or {})
        current: dict[str, str] = {}
        for payment in invoice.get("Payments") or []:
            payment_id = payment["PaymentID"]
            current[payment_id] = str(payment["Amount"])
            if ledger.hub_id("payment", payment_id) is not None:
                continue  # the hub pushed this one: it is in the ledger already
            ledger.recorded_in_xero(payment_id)
            account = _payment_account(payment_lookup, payment_id)
            events.append(PaymentEvent(
                event_id=f"xero:payment:{payment_id}", kind=PaymentEventKind.payment_succeeded,
                object_id=payment_id, occurred_at=xero_datetime(payment.get("Date")) or occurred_at,
                invoice_id=hub_id, amount=Money(Decimal(str(payment["Amount"])), currency),
                status="AUTHORISED", **_xero_payment_fields(payment, account),
                raw={"InvoiceID": xero_id, "Reference": payment.get("Reference", ""),
                     "Account": account}))
        for payment_id, amount in seen.items():
            # gone from the invoice, and not because the hub reversed it itself
            if payment_id not in current and ledger.hub_id("reversal", payment_id) is None:
                events.append(PaymentEvent(
                    event_id=f"xero:payment-deleted:{payment_id}", kind=PaymentEventKind.refunded,
                    object_id=f"{payment_id}:deleted", payment_object_id=payment_id,
                    occurred_at=occurred_at, invoice_id=hub_id,
                    amount=Money(Decimal(amount), currency), status="DELETED",
                    message="payment deleted in Xero", raw={"InvoiceID": xero_id}))
        if current != seen:
            connection.state.set(_seen_key(xero_id), current)
        if invoice.get("Status") == "VOIDED":
            events.append(PaymentEvent(
                event_id=f"xero:void:{xero_id}", kind=PaymentEventKind.invoice_voided,
                object_id=xero_id, occurred_at=occurred_at, invoice_id=hub_id, status="VOIDED",
                message="invoice voided in Xero", raw={"InvoiceID": xero_id}))
    return events


def receive(connection: Connection, request: WebhookRequest) -> list[PaymentEvent]:
    """Check the signature, then turn the delivery's invoice events into PaymentEvents."""
    settings = connection.settings
    key = settings.webhook_key.get_secret_value() if settings.webhook_key else None
    if not key:
        raise WebhookRejected(f"connection {connection.name!r} has no webhook_key: copy the "
                              "webhook signing key from the Xero developer portal into its "
                              "settings", status_code=401)
    headers = {k.lower(): v for k, v in request.headers.items()}
    if not verify_signature(key, request.body, headers.get("x-xero-signature")):
        raise WebhookRejected("x-xero-signature does not match the body", status_code=401)
    try:
        payload = json.loads(request.body)
        deliveries = payload["events"]
    except (ValueError, KeyError, TypeError) as exc:
        raise WebhookRejected(f"malformed Xero webhook body: {exc}") from None
    tenant = connection.state.get(TENANT) or settings.tenant_id
    invoice_ids = sorted({e["resourceId"] for e in deliveries
                          if e.get("eventCategory") == "INVOICE"
                          and (tenant is None or e.get("tenantId") == tenant)})
    if not invoice_ids:
        return []  # intent to receive, or nothing about invoices of this organisation
    with XeroClient(connection) as client:
        invoices: list[dict[str, Any]] = []
        for start in range(0, len(invoice_ids), LOOKUP_CHUNK):
            chunk = invoice_ids[start:start + LOOKUP_CHUNK]
            invoices += client.get("/Invoices", params={"IDs": ",".join(chunk)}).get("Invoices", [])
        return events_from_invoices(connection, invoices, request.received_at,
                                    payment_lookup(client))


def payment_lookup(client: XeroClient) -> Callable[[str], dict[str, Any] | None]:
    """``GET /Payments/{id}``: one payment as Xero has it (only asked for payments the hub
    did not make, which are few)."""
    def lookup(payment_id: str) -> dict[str, Any] | None:
        found = client.get(f"/Payments/{payment_id}").get("Payments") or []
        return found[0] if found else None

    return lookup


#: Invoices read per page when polling (Xero's page size).
POLL_PAGE_SIZE = 100


def poll(connection: Connection, since: dt.datetime) -> list[PaymentEvent]:
    """Events for every invoice changed at Xero since ``since``: ``GET /Invoices`` with
    ``If-Modified-Since`` (UTC), a page of 100 at a time, turned into events exactly as a
    webhook's invoices are (invoices the hub never pushed are skipped there)."""
    modified = since.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    invoices: list[dict[str, Any]] = []
    with XeroClient(connection) as client:
        page = 1
        while True:
            answer = client.get("/Invoices", params={"page": str(page),
                                                     "pageSize": str(POLL_PAGE_SIZE)},
                                if_modified_since=modified)
            found = answer.get("Invoices", [])
            invoices += found
            if len(found) < POLL_PAGE_SIZE:
                break
            page += 1
        return events_from_invoices(connection, invoices, connection.now(),
                                    payment_lookup(client))
