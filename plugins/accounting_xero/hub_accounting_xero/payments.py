"""Payments and their reversals.

A payment is pushed against the Xero invoice its hub invoice became, with the Reference
``HUB-PAY-<id>`` by which it is looked up when an answer was lost. Xero payments cannot be
edited, only deleted, so a reversal (``reversal_of`` set) deletes the Xero payment it reverses.
A refund (a negative payment that reverses nothing) is refused with what to do instead.
"""

from __future__ import annotations

from typing import Sequence

from hub import PaymentDoc, PermanentError, PushOutcome, PushStatus, TransientError

from hub_accounting_xero.auth import ConnectionRevoked
from hub_accounting_xero.client import OutcomeUnknown, XeroClient, xero_message
from hub_accounting_xero.mapping import idempotency_key, payment_element, payment_reference
from hub_accounting_xero.push import refusal_text, retry_all
from hub_accounting_xero.store import Ledger

__all__ = ["push_payments"]

KIND = "payment"
LOOKUP_CHUNK = 25


def _outcome(doc: PaymentDoc, status: PushStatus, **kw) -> PushOutcome:
    return PushOutcome(document_id=doc.id, status=status, **kw)


def _lookup(client: XeroClient, docs: Sequence[PaymentDoc]) -> dict[int, str]:
    """Payments already at Xero, by Reference: hub id -> PaymentID."""
    found: dict[int, str] = {}
    refs = {payment_reference(d): d.id for d in docs}
    names = sorted(refs)
    for start in range(0, len(names), LOOKUP_CHUNK):
        where = " OR ".join(f'Reference=="{r}"' for r in names[start:start + LOOKUP_CHUNK])
        for payment in client.get("/Payments", params={"where": where}).get("Payments", []):
            hub_id = refs.get(payment.get("Reference", ""))
            if hub_id is not None and payment.get("Status") != "DELETED":
                found[hub_id] = payment["PaymentID"]
    return found


def _reverse(client: XeroClient, ledger: Ledger, doc: PaymentDoc) -> PushOutcome:
    original = ledger.external_id(KIND, doc.reversal_of)  # type: ignore[arg-type]
    if original is None:
        return _outcome(doc, PushStatus.rejected,
                        message=f"payment {doc.reversal_of} was never recorded at Xero, so there "
                                "is nothing to reverse there")
    attempt = ledger.pending("reversal", doc.id)
    if attempt is not None:
        current = client.get(f"/Payments/{original}").get("Payments") or [{}]
        if current[0].get("Status") == "DELETED":
            ledger.synced("reversal", doc.id, original)
            return _outcome(doc, PushStatus.synced, external_id=original)
    attempt = (attempt or 0) + 1
    ledger.mark_sending("reversal", doc.id, attempt)
    try:
        client.write("POST", f"/Payments/{original}", {"Status": "DELETED"},
                     idempotency_key("reversal", [str(doc.id), original], attempt))
    except OutcomeUnknown as exc:
        return _outcome(doc, PushStatus.retry, message=str(exc), retry_after=exc.retry_after)
    except TransientError as exc:
        ledger.settled("reversal", doc.id)
        return _outcome(doc, PushStatus.retry, message=str(exc), retry_after=exc.retry_after)
    except ConnectionRevoked:
        raise
    except PermanentError as exc:
        ledger.settled("reversal", doc.id)
        if "already been deleted" in exc.vendor_message:
            ledger.synced("reversal", doc.id, original)
            return _outcome(doc, PushStatus.synced, external_id=original)
        return _outcome(doc, PushStatus.rejected, message=refusal_text(exc))
    ledger.synced("reversal", doc.id, original)
    return _outcome(doc, PushStatus.synced, external_id=original)


def push_payments(client: XeroClient, payments: Sequence[PaymentDoc]) -> list[PushOutcome]:
    """Record payments (batched) and reversals; one outcome per payment."""
    ledger = Ledger(client.connection)
    settings = client.settings
    outcomes: dict[int, PushOutcome] = {}
    todo: list[PaymentDoc] = []
    try:
        for doc in payments:
            known = ledger.external_id("reversal" if doc.reversal_of else KIND, doc.id)
            if known:
                outcomes[doc.id] = _outcome(doc, PushStatus.synced, external_id=known)
            elif ledger.came_from_xero(doc.reference):
                # a payment Xero reported (reference = its PaymentID): it is there already
                ledger.synced(KIND, doc.id, doc.reference)
                outcomes[doc.id] = _outcome(doc, PushStatus.synced, external_id=doc.reference)
            elif doc.reversal_of is not None:
                outcomes[doc.id] = _reverse(client, ledger, doc)
            elif doc.amount.amount <= 0:
                outcomes[doc.id] = _outcome(
                    doc, PushStatus.rejected,
                    message="Xero records money returned to a customer as a refund of a credit "
                            "note: push a credit note and refund it instead of a negative payment")
            elif doc.invoice_id is None or ledger.external_id("invoice", doc.invoice_id) is None:
                outcomes[doc.id] = _outcome(
                    doc, PushStatus.retry, retry_after=60,
                    message=f"invoice {doc.invoice_number or doc.invoice_id} is not at Xero yet")
            else:
                todo.append(doc)
        uncertain = [d for d in todo if ledger.pending(KIND, d.id) is not None]
        if uncertain:
            for hub_id, payment_id in _lookup(client, uncertain).items():
                ledger.synced(KIND, hub_id, payment_id)
                outcomes[hub_id] = PushOutcome(document_id=hub_id, status=PushStatus.synced,
                                               external_id=payment_id)
    except TransientError as exc:
        return [outcomes.get(d.id) or o for d, o in zip(payments, retry_all(payments, exc))]
    sendable = [d for d in todo if d.id not in outcomes]
    for start in range(0, len(sendable), settings.batch_size):
        batch = sendable[start:start + settings.batch_size]
        attempt = 1 + max((ledger.pending(KIND, d.id) or 0) for d in batch)
        for doc in batch:
            ledger.mark_sending(KIND, doc.id, attempt)
        body = {"Payments": [payment_element(settings, d, ledger.external_id("invoice", d.invoice_id))
                             for d in batch]}
        key = idempotency_key(KIND, [str(d.id) for d in batch], attempt)
        try:
            answer = client.write("PUT", "/Payments", body, key,
                                  params={"summarizeErrors": "false"})
        except OutcomeUnknown as exc:
            outcomes.update({o.document_id: o for o in retry_all(batch, exc)})
            continue
        except TransientError as exc:
            for doc in batch:
                ledger.settled(KIND, doc.id)
            outcomes.update({o.document_id: o for o in retry_all(batch, exc)})
            continue
        except ConnectionRevoked:
            raise
        except PermanentError as exc:
            for doc in batch:
                ledger.settled(KIND, doc.id)
                outcomes[doc.id] = _outcome(doc, PushStatus.rejected, message=refusal_text(exc))
            continue
        for doc, element in zip(batch, answer.get("Payments", [])):
            if element.get("ValidationErrors"):
                ledger.settled(KIND, doc.id)
                outcomes[doc.id] = _outcome(doc, PushStatus.rejected,
                                            message=xero_message(element))
            else:
                ledger.synced(KIND, doc.id, element["PaymentID"])
                outcomes[doc.id] = _outcome(doc, PushStatus.synced,
                                            external_id=element["PaymentID"])
    for doc in payments:
        outcomes.setdefault(doc.id, _outcome(doc, PushStatus.retry, retry_after=30,
                                             message="Xero's answer did not mention this payment"))
    return [outcomes[d.id] for d in payments]
