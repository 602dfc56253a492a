"""Hub documents as Xero JSON: invoices, credit notes, payments, contacts and their keys."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any, Iterable

from hub import CreditNoteDoc, InvoiceDoc, LineDoc, PaymentDoc

from hub_accounting_xero.settings import XeroSettings
from hub_accounting_xero.taxes import tax_type_for

__all__ = ["contact_number", "contact_element", "line_element", "line_amount_types",
           "invoice_element",
           "credit_note_element", "payment_element", "payment_reference", "idempotency_key"]


def contact_number(settings: XeroSettings, organisation_id: int) -> str:
    """The ContactNumber that ties a Xero contact to a hub organisation, e.g. ``HUB-17``."""
    return f"{settings.contact_number_prefix}{organisation_id}"


def contact_element(settings: XeroSettings, organisation_id: int, name: str) -> dict[str, Any]:
    """A new Xero contact for a hub organisation."""
    return {"Name": name, "ContactNumber": contact_number(settings, organisation_id),
            "IsCustomer": True}


def line_element(settings: XeroSettings, line: LineDoc) -> dict[str, Any]:
    """One line: quantity and unit price exact, account/item/tax from the product mapping.
    Amounts are as the document has them: tax-inclusive ones under ``LineAmountTypes``
    Inclusive (see :func:`line_amount_types`)."""
    mapping = settings.products.get(line.product_code or "")
    element: dict[str, Any] = {
        "Description": line.description,
        "Quantity": Decimal(line.quantity),
        "UnitAmount": line.unit_price.amount,
        "LineAmount": line.amount.rounded().amount,
        "TaxAmount": line.tax_amount.rounded().amount,
        "AccountCode": (mapping.account_code if mapping and mapping.account_code
                        else settings.default_account_code),
    }
    if mapping and mapping.item_code:
        element["ItemCode"] = mapping.item_code
    tax_type = tax_type_for(settings, line)
    if tax_type:
        element["TaxType"] = tax_type
    return element


def line_amount_types(doc: InvoiceDoc | CreditNoteDoc) -> str:
    """``Inclusive`` when the document's prices include tax, else ``Exclusive``."""
    return "Inclusive" if doc.prices_include_tax else "Exclusive"


def invoice_element(settings: XeroSettings, invoice: InvoiceDoc, contact_id: str) -> dict[str, Any]:
    """An ACCREC invoice, draft or authorised as the settings say."""
    element: dict[str, Any] = {
        "Type": "ACCREC", "Contact": {"ContactID": contact_id},
        "InvoiceNumber": invoice.number, "Date": invoice.issue_date.isoformat(),
        "DueDate": invoice.due_date.isoformat(), "CurrencyCode": invoice.currency,
        "LineAmountTypes": line_amount_types(invoice), "Status": settings.invoice_status,
        "LineItems": [line_element(settings, line) for line in invoice.lines],
    }
    if invoice.reference:
        element["Reference"] = invoice.reference
    return element


def credit_note_element(settings: XeroSettings, credit_note: CreditNoteDoc,
                        contact_id: str) -> dict[str, Any]:
    """An ACCRECCREDIT credit note (allocations are a separate call)."""
    element: dict[str, Any] = {
        "Type": "ACCRECCREDIT", "Contact": {"ContactID": contact_id},
        "CreditNoteNumber": credit_note.number, "Date": credit_note.issue_date.isoformat(),
        "CurrencyCode": credit_note.currency, "LineAmountTypes": line_amount_types(credit_note),
        "Status": settings.invoice_status,
        "LineItems": [line_element(settings, line) for line in credit_note.lines],
    }
    if credit_note.invoice_number:
        element["Reference"] = credit_note.invoice_number
    return element


def payment_reference(payment: PaymentDoc) -> str:
    """The Reference that identifies a hub payment at Xero (looked up after a lost answer)."""
    ref = f"HUB-PAY-{payment.id}"
    return f"{ref} {payment.reference}" if payment.reference else ref


def payment_element(settings: XeroSettings, payment: PaymentDoc, invoice_id: str) -> dict[str, Any]:
    """A payment of one invoice into the configured bank account."""
    return {"Invoice": {"InvoiceID": invoice_id}, "Account": {"Code": settings.payment_account_code},
            "Date": payment.date.isoformat(), "Amount": payment.amount.rounded().amount,
            "Reference": payment_reference(payment)}


def idempotency_key(kind: str, parts: Iterable[str], attempt: int) -> str:
    """``hub-<kind>-<digest of the documents>-a<attempt>``: the same documents and attempt
    always give the same key (so a resend inside one attempt is replayed by Xero), a new
    attempt after a look-up gives a new one. Well under Xero's 128 characters."""
    digest = hashlib.sha256("\n".join(sorted(parts)).encode()).hexdigest()[:40]
    return f"hub-{kind}-{digest}-a{attempt}"
