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
#: connection-state prefix: the parts of a payment reported to the hub (to report its deletion)
SEEN_PREFIX = "qbo-payment:"
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


def _parts(ledger: Ledger, payment: dict[str, Any]) -> list[tuple[str, int, Decimal, str]]:
    """``(TxnId, hub invoice id, amount, object id)`` of each hub invoice a payment pays.

    One payment may pay several invoices (a line each, or several links on one line): each
    becomes its own ledger payment on its invoice. A payment of one invoice keeps the Payment
    Id as its object id; the parts of a split one are ``<Payment Id>:<TxnId>``, so each is
    stored once and all carry the Payment Id as their reference."""
    links: dict[str, tuple[int, Decimal]] = {}
    for line in payment.get("Line") or []:
        for link in line.get("LinkedTxn") or []:
            if link.get("TxnType") != "Invoice":
                continue
            hub_invoice = ledger.hub_id("invoice", link.get("TxnId", ""))
            if hub_invoice is None:
                continue
            # Intuit links one transaction per payment line; should a line link several, its
            # amount is counted once, on the first
            amount = Decimal(str(line["Amount"])) if len(line["LinkedTxn"]) == 1 or \
                link is line["LinkedTxn"][0] else Decimal(0)
            known = links.get(link["TxnId"], (hub_invoice, Decimal(0)))
            links[link["TxnId"]] = (hub_invoice, known[1] + amount)
    payment_id = payment["Id"]
    split = len(links) > 1
    return [(txn_id, hub_invoice, amount, f"{payment_id}:{txn_id}" if split else payment_id)
            for txn_id, (hub_invoice, amount) in links.items() if amount > 0]


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
        parts = _parts(ledger, payment)
        if not parts:
            continue
        ledger.recorded_in_qbo(payment_id)
        connection.state.set(f"{SEEN_PREFIX}{payment_id}", {"currency": currency, "parts": [
            {"invoice": hub_invoice, "amount": str(amount), "object_id": object_id}
            for _, hub_invoice, amount, object_id in parts]})
        for txn_id, hub_invoice, amount, object_id in parts:
            events.append(PaymentEvent(
                event_id=f"quickbooks:payment:{payment_id}:{txn_id}",
                kind=PaymentEventKind.payment_succeeded, object_id=object_id,
                reference=payment_id, occurred_at=_when(payment, occurred_at),
                invoice_id=hub_invoice, amount=Money(amount, currency), status="PAID",
                message="payment recorded in QuickBooks",
                raw={"PaymentId": payment_id, "InvoiceId": txn_id}))
    for payment_id in deleted_payments:
        seen = connection.state.get(f"{SEEN_PREFIX}{payment_id}")
        if seen is None or ledger.hub_id("reversal", payment_id) is not None:
            continue  # not one we reported, or the hub deleted it itself
        # (a payment reported before multi-invoice payments were split kept one part, flat)
        for part in seen.get("parts") or [{**seen, "object_id": payment_id}]:
            events.append(PaymentEvent(
                event_id=f"quickbooks:payment-deleted:{part['object_id']}",
                kind=PaymentEventKind.refunded, object_id=f"{part['object_id']}:deleted",
                payment_object_id=part["object_id"], occurred_at=occurred_at,
                invoice_id=part["invoice"], amount=Money(Decimal(part["amount"]), seen["currency"]),
                status="DELETED", message="payment deleted in QuickBooks",
                raw={"PaymentId": payment_id}))
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
