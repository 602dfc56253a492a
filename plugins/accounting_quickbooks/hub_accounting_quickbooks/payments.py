"""Payments and their reversals.

A payment is pushed against the QuickBooks invoice its hub invoice became, with the
PaymentRefNum ``HUB-PAY-<id>`` by which it is looked up when an answer was lost. A reversal
(``reversal_of`` set) deletes the QuickBooks payment it reverses (read first: a delete needs
the payment's current ``SyncToken``). A refund (a negative payment that reverses nothing) is
refused with what to do instead.
"""

from __future__ import annotations

from typing import Sequence

from hub import PaymentDoc, PermanentError, PushOutcome, PushStatus, TransientError

from hub_accounting_quickbooks.auth import ConnectionRevoked
from hub_accounting_quickbooks.client import OutcomeUnknown, QuickBooksClient, QuickBooksFault, \
    fault_message
from hub_accounting_quickbooks.mapping import payment_element, payment_reference, quote, request_id
from hub_accounting_quickbooks.push import refusal_text, retry_all
from hub_accounting_quickbooks.store import Ledger

__all__ = ["push_payments", "NOT_FOUND", "STALE"]

KIND = "payment"
REFS_PER_QUERY = 100
#: "Object Not Found" (the payment is gone) and a stale SyncToken
NOT_FOUND = "610"
STALE = frozenset({"2030", "5010"})


def _outcome(doc: PaymentDoc, status: PushStatus, **kw) -> PushOutcome:
    return PushOutcome(document_id=doc.id, status=status, **kw)


def _lookup(client: QuickBooksClient, docs: Sequence[PaymentDoc]) -> dict[int, str]:
    """Payments already in QuickBooks, by PaymentRefNum: hub id -> Payment Id."""
    refs = {payment_reference(d): d.id for d in docs}
    names = sorted(refs)
    found: dict[int, str] = {}
    for start in range(0, len(names), REFS_PER_QUERY):
        chunk = names[start:start + REFS_PER_QUERY]
        answer = client.query("select * from Payment where PaymentRefNum in ("
                              + ", ".join(quote(r) for r in chunk) + f") maxresults {REFS_PER_QUERY}")
        for payment in answer.get("Payment", []):
            hub_id = refs.get(payment.get("PaymentRefNum", ""))
            if hub_id is not None:
                found[hub_id] = payment["Id"]
    return found


def _read_payment(client: QuickBooksClient, payment_id: str) -> dict | None:
    """The payment as it stands, or None when QuickBooks no longer has it."""
    try:
        return client.get(f"/payment/{payment_id}").get("Payment")
    except QuickBooksFault as exc:
        if NOT_FOUND in exc.codes:
            return None
        raise


def _reverse(client: QuickBooksClient, ledger: Ledger, doc: PaymentDoc) -> PushOutcome:
    original = ledger.external_id(KIND, doc.reversal_of)  # type: ignore[arg-type]
    if original is None:
        return _outcome(doc, PushStatus.rejected,
                        message=f"payment {doc.reversal_of} was never recorded in QuickBooks, "
                                "so there is nothing to reverse there")
    attempt = (ledger.pending("reversal", doc.id) or 0) + 1
    for _ in range(2):  # a second go only after a stale SyncToken
        current = _read_payment(client, original)
        if current is None:  # deleted (by us in a lost answer, or by a bookkeeper)
            ledger.synced("reversal", doc.id, original)
            return _outcome(doc, PushStatus.synced, external_id=original)
        ledger.mark_sending("reversal", doc.id, attempt)
        try:
            client.write("/payment", {"Id": original, "SyncToken": current["SyncToken"]},
                         request_id("reversal", [str(doc.id), original], attempt),
                         operation="delete")
        except OutcomeUnknown as exc:
            return _outcome(doc, PushStatus.retry, message=str(exc), retry_after=exc.retry_after)
        except QuickBooksFault as exc:
            ledger.settled("reversal", doc.id)
            if exc.codes & STALE:
                attempt += 1
                continue
            if NOT_FOUND in exc.codes:
                ledger.synced("reversal", doc.id, original)
                return _outcome(doc, PushStatus.synced, external_id=original)
            return _outcome(doc, PushStatus.rejected, message=refusal_text(exc))
        except TransientError as exc:
            ledger.settled("reversal", doc.id)
            return _outcome(doc, PushStatus.retry, message=str(exc), retry_after=exc.retry_after)
        ledger.synced("reversal", doc.id, original)
        return _outcome(doc, PushStatus.synced, external_id=original)
    return _outcome(doc, PushStatus.retry, retry_after=5,
                    message="the QuickBooks payment kept changing while it was being deleted")


def _triage(client: QuickBooksClient, ledger: Ledger, payments: Sequence[PaymentDoc],
            outcomes: dict[int, PushOutcome]) -> list[PaymentDoc]:
    """Answer what needs no create; return the payments to create."""
    todo = []
    for doc in payments:
        known = ledger.external_id("reversal" if doc.reversal_of else KIND, doc.id)
        if known:
            outcomes[doc.id] = _outcome(doc, PushStatus.synced, external_id=known)
        elif ledger.came_from_qbo(doc.reference):
            # a payment QuickBooks reported (reference = its Payment Id): it is there already
            ledger.synced(KIND, doc.id, doc.reference)  # type: ignore[arg-type]
            outcomes[doc.id] = _outcome(doc, PushStatus.synced, external_id=doc.reference)
        elif doc.reversal_of is not None:
            outcomes[doc.id] = _reverse(client, ledger, doc)
        elif doc.amount.amount <= 0:
            outcomes[doc.id] = _outcome(
                doc, PushStatus.rejected,
                message="QuickBooks records money returned to a customer as a refund receipt "
                        "against a credit memo: push a credit note and refund it instead of a "
                        "negative payment")
        elif doc.invoice_id is None or ledger.external_id("invoice", doc.invoice_id) is None \
                or ledger.customer_id(doc.organisation_id) is None:
            outcomes[doc.id] = _outcome(
                doc, PushStatus.retry, retry_after=60,
                message=f"invoice {doc.invoice_number or doc.invoice_id} is not in QuickBooks yet")
        else:
            todo.append(doc)
    return todo


def push_payments(client: QuickBooksClient, payments: Sequence[PaymentDoc]) -> list[PushOutcome]:
    """Record payments (batched) and reversals; one outcome per payment."""
    ledger = Ledger(client.connection)
    settings = client.settings
    outcomes: dict[int, PushOutcome] = {}
    try:
        todo = _triage(client, ledger, payments, outcomes)
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
        items = [{"bId": str(d.id), "operation": "create", "Payment": payment_element(
            settings, d, ledger.customer_id(d.organisation_id),
            ledger.external_id("invoice", d.invoice_id))} for d in batch]
        try:
            answers = client.batch(items, request_id(KIND, [str(d.id) for d in batch], attempt))
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
        for doc in batch:
            answer = answers.get(str(doc.id))
            if answer is None:
                continue
            if "Payment" in answer:
                ledger.synced(KIND, doc.id, answer["Payment"]["Id"])
                outcomes[doc.id] = _outcome(doc, PushStatus.synced,
                                            external_id=answer["Payment"]["Id"])
            else:
                ledger.settled(KIND, doc.id)
                outcomes[doc.id] = _outcome(doc, PushStatus.rejected,
                                            message=fault_message(answer))
    for doc in payments:
        outcomes.setdefault(doc.id, _outcome(
            doc, PushStatus.retry, retry_after=30,
            message="QuickBooks' answer did not mention this payment"))
    return [outcomes[d.id] for d in payments]
