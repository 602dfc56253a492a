"""Hub documents as QuickBooks Online JSON: customers, invoices, credit memos, payments, and
the ``requestid`` values that make a resend safe.

Amounts travel as exact decimals. A tax-inclusive document (``prices_include_tax``) is sent
with ``GlobalTaxCalculation: TaxInclusive``: each line's ``Amount`` is its net amount and
``TaxInclusiveAmt`` what the customer sees, as QuickBooks keeps them.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any, Iterable

from hub import CreditNoteDoc, InvoiceDoc, LineDoc, PaymentDoc

from hub_accounting_quickbooks.settings import QuickBooksSettings
from hub_accounting_quickbooks.tax import TaxPlan

__all__ = ["customer_number", "customer_element", "line_element", "invoice_element",
           "credit_memo_element", "payment_element", "payment_reference", "request_id",
           "quote"]

#: QuickBooks keeps unit prices to this many decimal places
UNIT_PRICE_PLACES = Decimal("0.0000001")


def customer_number(settings: QuickBooksSettings, organisation_id: int) -> str:
    """The AcctNum that ties a QuickBooks customer to a hub organisation, e.g. ``HUB-17``."""
    return f"{settings.customer_number_prefix}{organisation_id}"


def customer_element(settings: QuickBooksSettings, organisation_id: int,
                     name: str) -> dict[str, Any]:
    """A new QuickBooks customer for a hub organisation."""
    return {"DisplayName": name[:500], "CompanyName": name[:100],
            "AcctNum": customer_number(settings, organisation_id)}


def quote(value: str) -> str:
    """A string literal for a QuickBooks query (single quotes, backslash-escaped)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def line_element(settings: QuickBooksSettings, line: LineDoc, inclusive: bool,
                 tax: TaxPlan) -> dict[str, Any]:
    """One ``SalesItemLineDetail`` line: item and tax code from the mappings."""
    mapping = settings.products.get(line.product_code or "")
    quantity = Decimal(line.quantity)
    gross = line.amount.rounded().amount
    net = gross - line.tax_amount.rounded().amount if inclusive else gross
    unit = (net / quantity).quantize(UNIT_PRICE_PLACES) if inclusive and quantity else \
        line.unit_price.amount
    detail: dict[str, Any] = {
        "ItemRef": {"value": mapping.item_id if mapping and mapping.item_id
                    else settings.default_item_id},
        "Qty": quantity, "UnitPrice": unit}
    code = tax.code_for(line)
    if code:
        detail["TaxCodeRef"] = {"value": code}
    if inclusive:
        detail["TaxInclusiveAmt"] = gross
    return {"DetailType": "SalesItemLineDetail", "Amount": net,
            "Description": line.description[:4000], "SalesItemLineDetail": detail}


def _document(settings: QuickBooksSettings, doc: InvoiceDoc | CreditNoteDoc, customer_id: str,
              tax: TaxPlan) -> dict[str, Any]:
    inclusive = doc.prices_include_tax
    return {"DocNumber": doc.number[:21], "TxnDate": doc.issue_date.isoformat(),
            "CustomerRef": {"value": customer_id}, "CurrencyRef": {"value": doc.currency},
            "GlobalTaxCalculation": "TaxInclusive" if inclusive else "TaxExcluded",
            "Line": [line_element(settings, ln, inclusive, tax) for ln in doc.lines]}


def invoice_element(settings: QuickBooksSettings, invoice: InvoiceDoc, customer_id: str,
                    tax: TaxPlan) -> dict[str, Any]:
    """An invoice; the hub id goes in ``PrivateNote`` for people reading QuickBooks."""
    element = _document(settings, invoice, customer_id, tax)
    element["DueDate"] = invoice.due_date.isoformat()
    element["PrivateNote"] = f"hub invoice {invoice.id}" + (
        f" ({invoice.reference})" if invoice.reference else "")
    return element


def credit_memo_element(settings: QuickBooksSettings, note: CreditNoteDoc, customer_id: str,
                        tax: TaxPlan) -> dict[str, Any]:
    """A credit memo (applying it to invoices is a separate zero payment)."""
    element = _document(settings, note, customer_id, tax)
    element["PrivateNote"] = f"hub credit note {note.id}" + (
        f" for invoice {note.invoice_number}" if note.invoice_number else "")
    return element


def payment_reference(payment: PaymentDoc) -> str:
    """The PaymentRefNum that identifies a hub payment in QuickBooks (looked up after a lost
    answer); QuickBooks keeps 21 characters."""
    return f"HUB-PAY-{payment.id}"[:21]


def payment_element(settings: QuickBooksSettings, payment: PaymentDoc, customer_id: str,
                    invoice_id: str) -> dict[str, Any]:
    """A payment of one invoice (``Line[].LinkedTxn``)."""
    amount = payment.amount.rounded().amount
    element: dict[str, Any] = {
        "CustomerRef": {"value": customer_id}, "TotalAmt": amount,
        "TxnDate": payment.date.isoformat(), "PaymentRefNum": payment_reference(payment),
        "CurrencyRef": {"value": payment.amount.currency},
        "PrivateNote": f"hub payment {payment.id}" + (
            f" ({payment.reference})" if payment.reference else ""),
        "Line": [{"Amount": amount,
                  "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}]}
    if settings.deposit_account_id:
        element["DepositToAccountRef"] = {"value": settings.deposit_account_id}
    return element


def request_id(kind: str, parts: Iterable[str], attempt: int) -> str:
    """A ``requestid`` of 36 characters (the batch limit): the same documents and attempt give
    the same id (a resend inside one attempt is answered from Intuit's memory), a new attempt
    after a look-up gives a new one."""
    digest = hashlib.sha256(f"{kind}\n{attempt}\n".encode()
                            + "\n".join(sorted(parts)).encode()).hexdigest()
    return f"hub{digest[:33]}"
