"""Voiding a pushed invoice in QuickBooks (``operation=void``, with its current SyncToken);
one with payments or credit applied cannot be, and the answer says to issue a credit note."""

from __future__ import annotations

from hub import DocumentRef, PermanentError, PushOutcome, PushStatus, TransientError

from hub_accounting_quickbooks.auth import ConnectionRevoked
from hub_accounting_quickbooks.client import QuickBooksClient
from hub_accounting_quickbooks.mapping import request_id
from hub_accounting_quickbooks.push import refusal_text
from hub_accounting_quickbooks.store import Ledger

__all__ = ["void_invoice", "is_voided"]

CREDIT_INSTEAD = "issue a credit note for it in the hub instead"


def is_voided(invoice: dict) -> bool:
    """QuickBooks marks a voided invoice by zero amounts and the note "Voided"."""
    return str(invoice.get("PrivateNote", "")).startswith("Voided") and not invoice.get("TotalAmt")


def void_invoice(client: QuickBooksClient, ref: DocumentRef) -> PushOutcome:
    """Void the QuickBooks invoice of ``ref``."""
    ledger = Ledger(client.connection)
    qbo_id = ref.external_id or ledger.external_id("invoice", ref.id)
    if qbo_id is None:
        return PushOutcome(document_id=ref.id, status=PushStatus.rejected,
                           message="this invoice was never pushed to QuickBooks; nothing to "
                                   "void there")
    try:
        invoice = client.get(f"/invoice/{qbo_id}").get("Invoice") or {}
        if is_voided(invoice):
            return PushOutcome(document_id=ref.id, status=PushStatus.synced, external_id=qbo_id)
        if invoice.get("LinkedTxn") or invoice.get("Balance") != invoice.get("TotalAmt"):
            return PushOutcome(document_id=ref.id, status=PushStatus.rejected,
                               external_id=qbo_id,
                               message="QuickBooks cannot void an invoice with payments or "
                                       f"credit applied: {CREDIT_INSTEAD}")
        client.write("/invoice", {"Id": qbo_id, "SyncToken": invoice["SyncToken"]},
                     request_id("void", [str(ref.id), qbo_id], 1), operation="void")
    except TransientError as exc:
        return PushOutcome(document_id=ref.id, status=PushStatus.retry, external_id=qbo_id,
                           message=str(exc), retry_after=exc.retry_after)
    except ConnectionRevoked:
        raise
    except PermanentError as exc:
        return PushOutcome(document_id=ref.id, status=PushStatus.rejected, external_id=qbo_id,
                           message=f"{refusal_text(exc)}: {CREDIT_INSTEAD}")
    return PushOutcome(document_id=ref.id, status=PushStatus.synced, external_id=qbo_id)
