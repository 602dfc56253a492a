"""Cancelling a pushed invoice at Xero: an authorised invoice is VOIDED, a draft is DELETED;
one with payments or credit applied cannot be, and the answer says to issue a credit note."""

from __future__ import annotations

from hub import DocumentRef, PermanentError, PushOutcome, PushStatus, TransientError

from hub_accounting_xero.auth import ConnectionRevoked
from hub_accounting_xero.client import XeroClient
from hub_accounting_xero.mapping import idempotency_key
from hub_accounting_xero.push import refusal_text
from hub_accounting_xero.store import Ledger

__all__ = ["void_invoice"]

CREDIT_INSTEAD = "issue a credit note for it in the hub instead"


def void_invoice(client: XeroClient, ref: DocumentRef) -> PushOutcome:
    """Void (or delete, for a draft) the Xero invoice of ``ref``."""
    ledger = Ledger(client.connection)
    xero_id = ref.external_id or ledger.external_id("invoice", ref.id)
    if xero_id is None:
        return PushOutcome(document_id=ref.id, status=PushStatus.rejected,
                           message="this invoice was never pushed to Xero; nothing to void there")
    try:
        found = client.get(f"/Invoices/{xero_id}").get("Invoices") or [{}]
        invoice = found[0]
        status = invoice.get("Status")
        if status in ("VOIDED", "DELETED"):
            return PushOutcome(document_id=ref.id, status=PushStatus.synced, external_id=xero_id)
        if invoice.get("AmountPaid") or invoice.get("AmountCredited") or status == "PAID":
            return PushOutcome(document_id=ref.id, status=PushStatus.rejected, external_id=xero_id,
                               message=f"Xero cannot void an invoice with payments or credit "
                                       f"applied: {CREDIT_INSTEAD}")
        target = "VOIDED" if status == "AUTHORISED" else "DELETED"
        client.write("POST", f"/Invoices/{xero_id}",
                     {"Invoices": [{"InvoiceID": xero_id, "Status": target}]},
                     idempotency_key("void", [str(ref.id), xero_id], 1))
    except TransientError as exc:
        return PushOutcome(document_id=ref.id, status=PushStatus.retry, external_id=xero_id,
                           message=str(exc), retry_after=exc.retry_after)
    except ConnectionRevoked:
        raise
    except PermanentError as exc:
        return PushOutcome(document_id=ref.id, status=PushStatus.rejected, external_id=xero_id,
                           message=f"{refusal_text(exc)}: {CREDIT_INSTEAD}")
    return PushOutcome(document_id=ref.id, status=PushStatus.synced, external_id=xero_id)
