"""``hub_fetch_external_documents``: charges, refunds and disputes as Stripe holds them, for the
reconciliation CLI to compare with the ledger."""

from __future__ import annotations

import datetime as dt
from typing import Iterator

import stripe

from hub import Connection, ExternalDocument

from hub_payments_stripe.amounts import from_minor_units
from hub_payments_stripe.client import client_for, plain
from hub_payments_stripe.errors import as_hub_error

__all__ = ["fetch_external_documents", "KINDS"]

KINDS = ("charge", "refund", "dispute")


def _created_range(since: dt.date | None, until: dt.date | None) -> dict[str, int]:
    def ts(day: dt.date) -> int:
        return int(dt.datetime.combine(day, dt.time(), dt.timezone.utc).timestamp())

    created = {}
    if since:
        created["gte"] = ts(since)
    if until:
        created["lt"] = ts(until + dt.timedelta(days=1))  # `until` is inclusive
    return created


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def fetch_external_documents(connection: Connection, kind: str, since: dt.date | None,
                             until: dt.date | None) -> Iterator[ExternalDocument] | None:
    """All ``kind`` objects created between ``since`` and ``until`` (inclusive, UTC dates), paged
    through Stripe's list API; ``None`` for a kind Stripe does not hold (``invoice``...)."""
    if kind not in KINDS:
        return None
    client = client_for(connection)
    service = {"charge": client.v1.charges, "refund": client.v1.refunds,
               "dispute": client.v1.disputes}[kind]
    params: dict = {"limit": 100}
    if kind == "charge":  # the hub ids live on the PaymentIntent, not on the charge
        params["expand"] = ["data.payment_intent"]
    created = _created_range(since, until)
    if created:
        params["created"] = created
    try:
        page = service.list(params=params)  # the first page now: a bad key fails at once
    except stripe.StripeError as exc:
        raise as_hub_error(exc, f"list {kind}s") from None
    return _documents(kind, page)


def _documents(kind: str, page) -> Iterator[ExternalDocument]:
    try:
        for obj in page.auto_paging_iter():
            yield _document(kind, plain(obj))
    except stripe.StripeError as exc:  # a later page failed
        raise as_hub_error(exc, f"list {kind}s") from None


def _document(kind: str, obj) -> ExternalDocument:
    intent = obj.get("payment_intent")
    if isinstance(intent, dict):  # expanded
        obj = {**obj, "payment_intent": intent["id"]}
    meta = {**((intent or {}).get("metadata") or {} if isinstance(intent, dict) else {}),
            **(obj.get("metadata") or {})}
    day = dt.datetime.fromtimestamp(obj["created"], dt.timezone.utc).date()
    total = from_minor_units(obj["amount"], obj["currency"])
    attributes: dict = {"payment_intent": obj.get("payment_intent")}
    if kind == "charge":
        hub_id = _int(meta.get("hub_invoice_id"))
        attributes.update(
            invoice_id=hub_id, organisation_id=_int(meta.get("hub_organisation_id")),
            amount_refunded=str(from_minor_units(obj["amount_refunded"], obj["currency"]).amount),
            refunded=obj.get("refunded"), disputed=obj.get("disputed"))
        ref = obj.get("customer")
    elif kind == "refund":
        hub_id = _int(meta.get("hub_payment_id"))
        attributes.update(charge=obj.get("charge"), reason=obj.get("reason"))
        ref = None
    else:
        hub_id = None
        attributes.update(charge=obj.get("charge"), reason=obj.get("reason"))
        ref = None
    return ExternalDocument(kind=kind, external_id=obj["id"], hub_id=hub_id, organisation_ref=ref,
                            date=day, total=total, status=obj.get("status"), attributes=attributes)
