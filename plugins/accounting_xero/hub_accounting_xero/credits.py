"""Credit notes: created like invoices (see :mod:`.push`), then applied to their invoices.

A credit note is ``synced`` once it exists at Xero *and* its allocations are applied. The
allocation call is guarded like any write: a ``pending`` marker before it, a look-up of the
credit note's allocations when the outcome was lost, so credit is never applied twice.
"""

from __future__ import annotations

from typing import Sequence

from hub import CreditNoteDoc, PermanentError, PushOutcome, PushStatus, TransientError

from hub_accounting_xero.auth import ConnectionRevoked
from hub_accounting_xero.client import OutcomeUnknown, XeroClient
from hub_accounting_xero.mapping import idempotency_key
from hub_accounting_xero.push import CREDIT_NOTES, push_documents, refusal_text
from hub_accounting_xero.store import Ledger

__all__ = ["push_credit_notes"]

ALLOCATION = "allocation"


def _allocate(client: XeroClient, ledger: Ledger, note: CreditNoteDoc,
              credit_note_id: str) -> PushOutcome:
    state = client.connection.state
    done_key = f"allocated:credit_note:{note.id}"
    if not note.allocations or state.get(done_key):
        return PushOutcome(document_id=note.id, status=PushStatus.synced,
                           external_id=credit_note_id)
    if client.settings.invoice_status != "AUTHORISED":
        state.set(done_key, True)
        return PushOutcome(document_id=note.id, status=PushStatus.synced,
                           external_id=credit_note_id,
                           message="credit note left as a Xero draft: apply it in Xero once "
                                   "approved (drafts cannot be allocated)")
    invoice_ids = {}
    for invoice_id, _ in note.allocations:
        xero_id = ledger.external_id("invoice", invoice_id)
        if xero_id is None:
            return PushOutcome(document_id=note.id, status=PushStatus.retry,
                               external_id=credit_note_id, retry_after=60,
                               message=f"invoice {invoice_id} is not at Xero yet; the credit "
                                       "is applied once it is")
        invoice_ids[invoice_id] = xero_id
    attempt = ledger.pending(ALLOCATION, note.id)
    if attempt is not None:
        answer = client.get(f"/CreditNotes/{credit_note_id}")
        notes = answer.get("CreditNotes") or [{}]
        if notes[0].get("Allocations"):
            state.set(done_key, True)
            ledger.settled(ALLOCATION, note.id)
            return PushOutcome(document_id=note.id, status=PushStatus.synced,
                               external_id=credit_note_id)
    attempt = (attempt or 0) + 1
    body = {"Allocations": [{"Invoice": {"InvoiceID": invoice_ids[invoice_id]},
                             "Amount": amount.rounded().amount,
                             "Date": note.issue_date.isoformat()}
                            for invoice_id, amount in note.allocations]}
    ledger.mark_sending(ALLOCATION, note.id, attempt)
    try:
        client.write("PUT", f"/CreditNotes/{credit_note_id}/Allocations", body,
                     idempotency_key("allocation", [str(note.id)], attempt))
    except OutcomeUnknown as exc:
        return PushOutcome(document_id=note.id, status=PushStatus.retry, message=str(exc),
                           external_id=credit_note_id, retry_after=exc.retry_after)
    except TransientError as exc:
        ledger.settled(ALLOCATION, note.id)
        return PushOutcome(document_id=note.id, status=PushStatus.retry, message=str(exc),
                           external_id=credit_note_id, retry_after=exc.retry_after)
    except ConnectionRevoked:
        raise
    except PermanentError as exc:
        ledger.settled(ALLOCATION, note.id)
        return PushOutcome(document_id=note.id, status=PushStatus.rejected,
                           external_id=credit_note_id,
                           message=f"credit note is at Xero but could not be applied: "
                                   f"{refusal_text(exc)}")
    ledger.settled(ALLOCATION, note.id)
    state.set(done_key, True)
    return PushOutcome(document_id=note.id, status=PushStatus.synced, external_id=credit_note_id)


def push_credit_notes(client: XeroClient, notes: Sequence[CreditNoteDoc]) -> list[PushOutcome]:
    """Create credit notes in batches, then apply each one's allocations."""
    ledger = Ledger(client.connection)
    outcomes = push_documents(client, CREDIT_NOTES, notes)
    by_id = {n.id: n for n in notes}
    result = []
    for outcome in outcomes:
        if outcome.status is PushStatus.synced and outcome.external_id:
            try:
                outcome = _allocate(client, ledger, by_id[outcome.document_id],
                                    outcome.external_id)
            except TransientError as exc:  # the look-up of an unknown allocation failed
                outcome = PushOutcome(document_id=outcome.document_id, status=PushStatus.retry,
                                      external_id=outcome.external_id, message=str(exc),
                                      retry_after=exc.retry_after)
        result.append(outcome)
    return result
