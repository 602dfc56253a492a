"""Payments recorded and invoices voided directly in QuickBooks become PaymentEvents, from
webhooks or, when a webhook never came, from Change Data Capture.

Intuit signs each webhook with ``intuit-signature`` = base64(HMAC-SHA256(verifier token, raw
body)). A notification only names the entities that changed, so the payments are read back (one
query per 100) and compared with what the plugin knows:

- a payment of a hub invoice that the hub did not push -> ``payment_succeeded``
  (``object_id`` = QuickBooks Payment Id);
- a payment reported before that was deleted in QuickBooks (not reversed by the hub) ->
  ``refunded`` of it;
- a hub invoice voided -> ``invoice_voided``.

:func:`catch_up` asks ``GET .../cdc?entities=Payment,Invoice&changedSince=...`` (Intuit's advice
for what webhooks missed, at most 30 days back) and yields the same events with the same ids,
so a payment seen by both paths is still stored once by the host. The same read serves the
host's scheduled poll (:func:`poll`, the ``payments_poll`` capability), so a missed webhook is
caught up without anyone running the command.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from decimal import Decimal
from typing import Any, Iterable

from hub import Connection, Money, PaymentEvent, PaymentEventKind, WebhookRejected, WebhookRequest

from hub_accounting_quickbooks.auth import realm_of
from hub_accounting_quickbooks.client import QuickBooksClient
from hub_accounting_quickbooks.store import Ledger
from hub_accounting_quickbooks.void import is_voided

__all__ = ["receive", "verify_signature", "catch_up", "poll", "changes_since", "events_from",
           "CDC_CURSOR"]

IDS_PER_QUERY = 100
CDC_CURSOR = "cdc_changed_since"
CDC_DAYS = 30


def verify_signature(token: str, body: bytes, signature: str | None) -> bool:
    """True when ``signature`` is Intuit's base64 HMAC-SHA256 of ``body`` under ``token``."""
    if not signature:
        return False
    expected = base64.b64encode(hmac.new(token.encode(), body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, signature.strip())


def _when(payment: dict[str, Any], fallback: dt.datetime) -> dt.datetime:
    date = payment.get("TxnDate")
    if not date:
        return fallback
    return dt.datetime.combine(dt.date.fromisoformat(str(date)[:10]), dt.time(),
                               tzinfo=dt.timezone.utc)


def events_from(connection: Connection, payments: Iterable[dict[str, Any]],
                deleted_payments: Iterable[str], invoices: Iterable[dict[str, Any]],
                occurred_at: dt.datetime) -> list[PaymentEvent]:
    """PaymentEvents for what changed in QuickBooks on hub invoices."""
    ledger = Ledger(connection)
    events: list[PaymentEvent] = []
    for payment in payments:
        payment_id = payment["Id"]
        if ledger.hub_id("payment", payment_id) is not None:
            continue  # the hub pushed this one: it is in the ledger already
        currency = (payment.get("CurrencyRef") or {}).get("value", "USD")
        for line in payment.get("Line") or []:
            for link in line.get("LinkedTxn") or []:
                hub_invoice = ledger.hub_id("invoice", link.get("TxnId", "")) \
                    if link.get("TxnType") == "Invoice" else None
                if hub_invoice is None:
                    continue
                ledger.recorded_in_qbo(payment_id)
                connection.state.set(f"qbo-payment:{payment_id}",
                                     {"invoice": hub_invoice, "amount": str(line["Amount"]),
                                      "currency": currency})
                events.append(PaymentEvent(
                    event_id=f"quickbooks:payment:{payment_id}:{link['TxnId']}",
                    kind=PaymentEventKind.payment_succeeded, object_id=payment_id,
                    occurred_at=_when(payment, occurred_at), invoice_id=hub_invoice,
                    amount=Money(Decimal(str(line["Amount"])), currency), status="PAID",
                    message="payment recorded in QuickBooks",
                    raw={"PaymentId": payment_id, "InvoiceId": link["TxnId"]}))
    for payment_id in deleted_payments:
        seen = connection.state.get(f"qbo-payment:{payment_id}")
        if seen is None or ledger.hub_id("reversal", payment_id) is not None:
            continue  # not one we reported, or the hub deleted it itself
        events.append(PaymentEvent(
            event_id=f"quickbooks:payment-deleted:{payment_id}", kind=PaymentEventKind.refunded,
            object_id=f"{payment_id}:deleted", payment_object_id=payment_id,
            occurred_at=occurred_at, invoice_id=seen["invoice"],
            amount=Money(Decimal(seen["amount"]), seen["currency"]), status="DELETED",
            message="payment deleted in QuickBooks", raw={"PaymentId": payment_id}))
    for invoice in invoices:
        hub_id = ledger.hub_id("invoice", invoice.get("Id", ""))
        if hub_id is not None and is_voided(invoice):
            events.append(PaymentEvent(
                event_id=f"quickbooks:void:{invoice['Id']}", kind=PaymentEventKind.invoice_voided,
                object_id=invoice["Id"], occurred_at=occurred_at, invoice_id=hub_id,
                status="VOIDED", message="invoice voided in QuickBooks",
                raw={"InvoiceId": invoice["Id"]}))
    return events


def _read(client: QuickBooksClient, entity: str, ids: list[str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for start in range(0, len(ids), IDS_PER_QUERY):
        chunk = ", ".join(f"'{i}'" for i in ids[start:start + IDS_PER_QUERY] if i.isalnum())
        if chunk:
            found += client.query(f"select * from {entity} where Id in ({chunk}) "
                                  f"maxresults {IDS_PER_QUERY}").get(entity, [])
    return found


def receive(connection: Connection, request: WebhookRequest) -> list[PaymentEvent]:
    """Check the signature, then turn the notification's entities into PaymentEvents."""
    settings = connection.settings
    token = (settings.webhook_verifier_token.get_secret_value()
             if settings.webhook_verifier_token else None)
    if not token:
        raise WebhookRejected(f"connection {connection.name!r} has no webhook_verifier_token: "
                              "copy the verifier token from the Intuit developer portal into "
                              "its settings", status_code=401)
    headers = {k.lower(): v for k, v in request.headers.items()}
    if not verify_signature(token, request.body, headers.get("intuit-signature")):
        raise WebhookRejected("intuit-signature does not match the body", status_code=401)
    try:
        payload = json.loads(request.body)
        notifications = payload["eventNotifications"]
        realm = realm_of(connection)
        entities = [e for n in notifications if str(n.get("realmId")) == realm
                    for e in n["dataChangeEvent"]["entities"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise WebhookRejected(f"malformed QuickBooks webhook body: {exc}") from None
    payment_ids = sorted({str(e["id"]) for e in entities if e.get("name") == "Payment"
                          and e.get("operation") in ("Create", "Update")})
    deleted = sorted({str(e["id"]) for e in entities if e.get("name") == "Payment"
                      and e.get("operation") == "Delete"})
    invoice_ids = sorted({str(e["id"]) for e in entities if e.get("name") == "Invoice"
                          and e.get("operation") == "Void"})
    if not (payment_ids or deleted or invoice_ids):
        return []
    with QuickBooksClient(connection) as client:
        payments = _read(client, "Payment", payment_ids)
        invoices = _read(client, "Invoice", invoice_ids)
    return events_from(connection, payments, deleted, invoices, request.received_at)


def changes_since(connection: Connection, since: dt.datetime) -> tuple[list[PaymentEvent], str]:
    """Events for what changed in QuickBooks since ``since`` (at most :data:`CDC_DAYS` back),
    through Change Data Capture, and QuickBooks' own time of the answer."""
    now = connection.now()
    since = max(since, now - dt.timedelta(days=CDC_DAYS))
    with QuickBooksClient(connection) as client:
        answer = client.get("/cdc", params={"entities": "Payment,Invoice",
                                            "changedSince": since.isoformat()})
    payments: list[dict[str, Any]] = []
    deleted: list[str] = []
    invoices: list[dict[str, Any]] = []
    for response in answer.get("CDCResponse", []):
        for part in response.get("QueryResponse", []):
            for payment in part.get("Payment", []):
                (deleted.append(payment["Id"]) if payment.get("status") == "Deleted"
                 else payments.append(payment))
            invoices += part.get("Invoice", [])
    return (events_from(connection, payments, deleted, invoices, now),
            str(answer.get("time") or now.isoformat()))


def poll(connection: Connection, since: dt.datetime) -> list[PaymentEvent]:
    """The scheduled catch-up (``hub_poll_payments``): the host keeps the time of its last
    poll and asks from there, so no cursor is kept here."""
    return changes_since(connection, since)[0]


def catch_up(connection: Connection) -> list[PaymentEvent]:
    """Events for what changed since the last catch-up (``hub quickbooks catch-up``)."""
    stored = connection.state.get(CDC_CURSOR)
    since = (dt.datetime.fromisoformat(stored) if stored
             else connection.now() - dt.timedelta(days=1))
    events, answered_at = changes_since(connection, since)
    # the next catch-up starts at QuickBooks' own time of this answer, not ours: clocks differ
    connection.state.set(CDC_CURSOR, answered_at)
    return events
