"""Credit memos: created like invoices (see :mod:`.push`), then applied to their invoices.

QuickBooks applies a credit memo through a payment of zero that links the invoice and the credit
memo (``Line[].LinkedTxn``), with PaymentRefNum ``HUB-CN-<id>`` by which it is looked up when
the answer was lost, so credit is never applied twice. A credit note is ``synced`` once it
exists in QuickBooks *and* its allocations are applied.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Sequence

from hub import CreditNoteDoc, PermanentError, PushOutcome, PushStatus, TransientError

from hub_accounting_quickbooks.auth import ConnectionRevoked
from hub_accounting_quickbooks.client import OutcomeUnknown, QuickBooksClient
from hub_accounting_quickbooks.mapping import quote, request_id
from hub_accounting_quickbooks.push import CREDIT_MEMOS, push_documents, refusal_text
from hub_accounting_quickbooks.store import Ledger

__all__ = ["push_credit_notes", "allocation_reference"]

ALLOCATION = "allocation"


def allocation_reference(note: CreditNoteDoc) -> str:
    """PaymentRefNum of the zero payment that applies credit note ``note``."""
    return f"HUB-CN-{note.id}"[:21]


def _application(note: CreditNoteDoc, customer_id: str, memo_id: str,
                 invoice_ids: dict[int, str]) -> dict[str, Any]:
    lines = []
    for invoice_id, amount in note.allocations:
        value = amount.rounded().amount
        lines.append({"Amount": value, "LinkedTxn": [{"TxnId": invoice_ids[invoice_id],
                                                      "TxnType": "Invoice"}]})
        lines.append({"Amount": value, "LinkedTxn": [{"TxnId": memo_id,
                                                      "TxnType": "CreditMemo"}]})
    return {"CustomerRef": {"value": customer_id}, "TotalAmt": Decimal("0.00"),
            "TxnDate": note.issue_date.isoformat(), "PaymentRefNum": allocation_reference(note),
            "CurrencyRef": {"value": note.currency},
            "PrivateNote": f"hub credit note {note.id} applied", "Line": lines}


def _allocate(client: QuickBooksClient, ledger: Ledger, note: CreditNoteDoc,
              memo_id: str) -> PushOutcome:
    synced = PushOutcome(document_id=note.id, status=PushStatus.synced, external_id=memo_id)
    if not note.allocations or ledger.external_id(ALLOCATION, note.id):
        return synced
    invoice_ids = {}
    for invoice_id, _ in note.allocations:
        qbo_id = ledger.external_id("invoice", invoice_id)
        if qbo_id is None:
            return PushOutcome(document_id=note.id, status=PushStatus.retry, external_id=memo_id,
                               retry_after=60, message=f"invoice {invoice_id} is not in "
                                                       "QuickBooks yet; the credit is applied "
                                                       "once it is")
        invoice_ids[invoice_id] = qbo_id
    attempt = ledger.pending(ALLOCATION, note.id)
    if attempt is not None:
        found = client.query("select * from Payment where PaymentRefNum = "
                             + quote(allocation_reference(note))).get("Payment", [])
        if found:
            ledger.synced(ALLOCATION, note.id, found[0]["Id"])
            ledger.settled(ALLOCATION, note.id)
            return synced
    attempt = (attempt or 0) + 1
    customer_id = ledger.customer_id(note.organisation_id)
    body = _application(note, customer_id, memo_id, invoice_ids)  # type: ignore[arg-type]
    ledger.mark_sending(ALLOCATION, note.id, attempt)
    try:
        answer = client.write("/payment", body, request_id(ALLOCATION, [str(note.id)], attempt))
    except OutcomeUnknown as exc:
        return PushOutcome(document_id=note.id, status=PushStatus.retry, message=str(exc),
                           external_id=memo_id, retry_after=exc.retry_after)
    except TransientError as exc:
        ledger.settled(ALLOCATION, note.id)
        return PushOutcome(document_id=note.id, status=PushStatus.retry, message=str(exc),
                           external_id=memo_id, retry_after=exc.retry_after)
    except ConnectionRevoked:
        raise
    except PermanentError as exc:
        ledger.settled(ALLOCATION, note.id)
        return PushOutcome(document_id=note.id, status=PushStatus.rejected, external_id=memo_id,
                           message="credit memo is in QuickBooks but could not be applied: "
                                   + refusal_text(exc))
    ledger.synced(ALLOCATION, note.id, answer["Payment"]["Id"])
    ledger.settled(ALLOCATION, note.id)
    return synced


def push_credit_notes(client: QuickBooksClient,
                      notes: Sequence[CreditNoteDoc]) -> list[PushOutcome]:
    """Create credit memos in batches, then apply each one's allocations."""
    ledger = Ledger(client.connection)
    by_id = {n.id: n for n in notes}
    result = []
    for outcome in push_documents(client, CREDIT_MEMOS, notes):
        if outcome.status is PushStatus.synced and outcome.external_id:
            try:
                outcome = _allocate(client, ledger, by_id[outcome.document_id],
                                    outcome.external_id)
            except TransientError as exc:  # the look-up of an unknown application failed
                outcome = PushOutcome(document_id=outcome.document_id, status=PushStatus.retry,
                                      external_id=outcome.external_id, message=str(exc),
                                      retry_after=exc.retry_after)
        result.append(outcome)
    return result
