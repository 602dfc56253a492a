"""One Xero organisation's books inside the sandbox, with the rules Xero enforces.

Everything here is plain data (dicts shaped like Xero's JSON, amounts as ``Decimal``) and
per-element validation: each ``create_*`` returns, for every element sent, either the stored
document or a list of Xero-style validation messages. The HTTP layer decides whether that
becomes a 200 with per-element ``ValidationErrors`` (``summarizeErrors=false``) or a 400.
"""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable, Iterable

__all__ = ["Books", "XeroRefusal", "DEFAULT_ACCOUNTS", "DEFAULT_TAX_TYPES"]

DEFAULT_ACCOUNTS = frozenset({"090", "091", "200", "210", "260", "400", "610"})
BANK_ACCOUNTS = frozenset({"090", "091"})
#: TaxType -> (name, rate %): a UK organisation's sales tax rates
DEFAULT_TAX_TYPES = {"NONE": ("No VAT", Decimal("0")), "OUTPUT": ("15% (old VAT)", Decimal("15")),
                     "OUTPUT2": ("20% (VAT on Income)", Decimal("20")),
                     "TAX001": ("Sales tax 10%", Decimal("10")),
                     "EXEMPTOUTPUT": ("Exempt Income", Decimal("0")),
                     "ZERORATEDOUTPUT": ("Zero Rated Income", Decimal("0")),
                     "RROUTPUT": ("5% (VAT on Income)", Decimal("5"))}
CENT = Decimal("0.01")


class XeroRefusal(Exception):
    """A whole-request refusal (answered as a 400 ValidationException)."""

    def __init__(self, messages: list[str], element: dict[str, Any] | None = None) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages
        self.element = element or {}


def _d(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _date(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    return dt.date.fromisoformat(str(value)[:10])


class Books:
    """Contacts, invoices, credit notes, allocations and payments of one organisation."""

    def __init__(self, now: Callable[[], dt.datetime], *, accounts: Iterable[str] = DEFAULT_ACCOUNTS,
                 tax_types: dict[str, tuple[str, Decimal]] | None = None,
                 unique_numbers: bool = True,
                 base_currency: str = "USD") -> None:
        self.now = now
        self.accounts = set(accounts)
        self.tax_types = dict(DEFAULT_TAX_TYPES if tax_types is None else tax_types)
        self.unique_numbers = unique_numbers
        self.base_currency = base_currency
        self.contacts: dict[str, dict[str, Any]] = {}
        self.invoices: dict[str, dict[str, Any]] = {}
        self.credit_notes: dict[str, dict[str, Any]] = {}
        self.payments: dict[str, dict[str, Any]] = {}
        #: invoice numbers the test wants refused: number -> Xero's message
        self.reject_numbers: dict[str, str] = {}
        #: (category, resource id, event type) in order: what webhooks would announce
        self.events: list[tuple[str, str, str]] = []

    _DATA = ("contacts", "invoices", "credit_notes", "payments", "events")

    def snapshot(self) -> dict[str, Any]:
        """A copy of everything stored, for :meth:`restore`."""
        return copy.deepcopy({name: getattr(self, name) for name in self._DATA})

    def restore(self, snapshot: dict[str, Any]) -> None:
        """Undo everything since :meth:`snapshot` (a summarised request that failed)."""
        for name, value in snapshot.items():
            setattr(self, name, value)

    def _touch(self, doc: dict[str, Any], category: str | None = None, kind: str = "UPDATE") -> None:
        doc["UpdatedDateUTC"] = self.now()
        if category:
            resource = doc.get("InvoiceID") or doc.get("ContactID")
            self.events.append((category, resource, kind))

    # ------------------------------------------------------------------------------ contacts
    def create_contact(self, el: dict[str, Any]) -> tuple[dict[str, Any] | None, list[str]]:
        """Create one contact; ``Name`` required and unique, like Xero."""
        name = (el.get("Name") or "").strip()
        if not name:
            return None, ["The contact name must be specified."]
        if any(c["Name"].lower() == name.lower() for c in self.contacts.values()):
            return None, [f"The contact name {name} is already assigned to another contact. "
                          "The contact name must be unique across all active contacts."]
        number = el.get("ContactNumber")
        if number and any(c.get("ContactNumber") == number for c in self.contacts.values()):
            return None, [f"The contact number {number} is already assigned to another contact. "
                          "The contact number must be unique across all contacts."]
        contact = {k: v for k, v in el.items() if k in ("Name", "ContactNumber", "EmailAddress",
                                                      "AccountNumber", "IsCustomer")}
        contact.update(ContactID=str(uuid.uuid4()), ContactStatus="ACTIVE", Name=name)
        self._touch(contact, "CONTACT", "CREATE")
        self.contacts[contact["ContactID"]] = contact
        return contact, []

    # ------------------------------------------------------------------------------ lines
    def tax_of(self, amount: Decimal, tax_type: str | None, inclusive: bool) -> Decimal:
        """Xero's tax of one line: ``round(amount × rate)``, or for tax-inclusive amounts
        ``round(amount × rate / (100 + rate))``, half-up to the cent."""
        rate = self.tax_types.get(tax_type or "NONE", ("", Decimal(0)))[1]
        share = rate / (100 + rate) if inclusive else rate / 100
        return (amount * share).quantize(CENT, ROUND_HALF_UP)

    def _lines(self, el: dict[str, Any], status: str) -> tuple[list[dict[str, Any]], list[str]]:
        errors: list[str] = []
        lines: list[dict[str, Any]] = []
        items = el.get("LineItems") or []
        inclusive = el.get("LineAmountTypes") == "Inclusive"
        if not items:
            errors.append("At least one line item must be specified.")
        for raw in items:
            qty = _d(raw.get("Quantity", 1))
            unit = _d(raw.get("UnitAmount", 0))
            expected = (qty * unit).quantize(CENT, ROUND_HALF_UP)
            amount = _d(raw["LineAmount"]) if "LineAmount" in raw else expected
            if amount != expected:
                errors.append(f"The line total {amount} does not match the expected line total "
                              f"{expected}")
            if not raw.get("Description") and not raw.get("ItemCode"):
                errors.append("Description must be specified.")
            code = raw.get("AccountCode")
            if code is not None and code not in self.accounts:
                errors.append(f"Account code '{code}' is not a valid code for this document.")
            if code is None and status == "AUTHORISED":
                errors.append("An account code must be specified for an approved document.")
            tax_type = raw.get("TaxType")
            if tax_type is not None and tax_type not in self.tax_types:
                errors.append(f"The TaxType code '{tax_type}' does not exist or cannot be used "
                              "for this type of transaction.")
            # stricter than Xero, which stores an overridden TaxAmount silently: a hub whose
            # tax differs from Xero's own is a bug the tests must see
            tax = self.tax_of(amount, tax_type, inclusive)
            if "TaxAmount" in raw and _d(raw["TaxAmount"]) != tax:
                errors.append(f"The TaxAmount {_d(raw['TaxAmount'])} does not match the tax "
                              f"{tax} Xero calculates for TaxType {tax_type or 'NONE'}.")
            lines.append({**raw, "LineItemID": str(uuid.uuid4()), "Quantity": qty,
                          "UnitAmount": unit, "LineAmount": amount, "TaxAmount": tax})
        return lines, errors

    def _contact_of(self, el: dict[str, Any]) -> tuple[dict[str, Any] | None, list[str]]:
        ref = el.get("Contact") or {}
        contact = self.contacts.get(ref.get("ContactID", ""))
        if contact is None:
            return None, ["A valid ContactID must be given (the sandbox never creates contacts "
                          "from a document)."]
        return {k: contact[k] for k in ("ContactID", "Name") if k in contact} | (
            {"ContactNumber": contact["ContactNumber"]} if contact.get("ContactNumber") else {}), []

    def _document(self, el: dict[str, Any], number_key: str, existing: Iterable[dict[str, Any]],
                  allowed_types: set[str]) -> tuple[dict[str, Any] | None, list[str]]:
        errors: list[str] = []
        if el.get("Type") not in allowed_types:
            errors.append(f"Type must be one of {sorted(allowed_types)}.")
        status = el.get("Status", "DRAFT")
        if status not in ("DRAFT", "SUBMITTED", "AUTHORISED"):
            errors.append(f"A new document cannot have status {status}.")
        contact, problems = self._contact_of(el)
        errors += problems
        number = el.get(number_key)
        if number and number in self.reject_numbers:
            errors.append(self.reject_numbers[number])
        if number and self.unique_numbers and any(
                d.get(number_key) == number and d["Status"] not in ("DELETED", "VOIDED")
                for d in existing):
            errors.append(f"{'Invoice' if number_key == 'InvoiceNumber' else 'Credit Note'} "
                          "# must be unique.")
        lines, problems = self._lines(el, status)
        errors += problems
        if _date(el.get("Date")) is None:
            errors.append("Date must be specified.")
        if errors:
            return None, errors
        amounts = sum((line["LineAmount"] for line in lines), Decimal(0))
        tax = sum((line["TaxAmount"] for line in lines), Decimal(0))
        # Inclusive line amounts already hold their tax: SubTotal is what is left without it
        subtotal = amounts - tax if el.get("LineAmountTypes") == "Inclusive" else amounts
        doc = {k: v for k, v in el.items() if k not in ("LineItems", "Contact")}
        doc.update(Contact=contact, LineItems=lines, Status=status, SubTotal=subtotal,
                   TotalTax=tax, Total=subtotal + tax, Date=_date(el.get("Date")),
                   CurrencyCode=el.get("CurrencyCode", self.base_currency))
        if "DueDate" in el:
            doc["DueDate"] = _date(el["DueDate"])
        return doc, []

    # ------------------------------------------------------------------------------ invoices
    def create_invoice(self, el: dict[str, Any]) -> tuple[dict[str, Any] | None, list[str]]:
        """Create one invoice (ACCREC/ACCPAY) after Xero's per-element checks."""
        doc, errors = self._document(el, "InvoiceNumber", self.invoices.values(),
                                     {"ACCREC", "ACCPAY"})
        if doc is None:
            return None, errors
        doc.update(InvoiceID=str(uuid.uuid4()), AmountDue=doc["Total"], AmountPaid=Decimal(0),
                   AmountCredited=Decimal(0), Payments=[], CreditNotes=[])
        self._touch(doc, "INVOICE", "CREATE")
        self.invoices[doc["InvoiceID"]] = doc
        return doc, []

    def update_invoice(self, invoice_id: str, el: dict[str, Any]) -> dict[str, Any]:
        """Change an invoice's status: DRAFT may be DELETED or AUTHORISED; AUTHORISED only
        VOIDED, and only while nothing is paid or credited on it."""
        inv = self.invoices.get(invoice_id)
        if inv is None:
            raise KeyError(invoice_id)
        target = el.get("Status")
        current = inv["Status"]
        if target is None or target == current:
            return inv
        allowed = {"DRAFT": {"SUBMITTED", "AUTHORISED", "DELETED"},
                   "SUBMITTED": {"AUTHORISED", "DELETED", "DRAFT"},
                   "AUTHORISED": {"VOIDED"}}.get(current, set())
        if target not in allowed:
            raise XeroRefusal([f"Invoice not of valid status for modification "
                               f"({current} cannot become {target})."], inv)
        if target == "VOIDED" and (inv["AmountPaid"] or inv["AmountCredited"]):
            raise XeroRefusal(["This document cannot be edited as it has a payment or credit "
                               "note allocated to it."], inv)
        inv["Status"] = target
        if target in ("VOIDED", "DELETED"):
            inv["AmountDue"] = Decimal(0)
        self._touch(inv, "INVOICE")
        return inv

    # ------------------------------------------------------------------------------ credit notes
    def create_credit_note(self, el: dict[str, Any]) -> tuple[dict[str, Any] | None, list[str]]:
        """Create one credit note (ACCRECCREDIT/ACCPAYCREDIT)."""
        doc, errors = self._document(el, "CreditNoteNumber", self.credit_notes.values(),
                                     {"ACCRECCREDIT", "ACCPAYCREDIT"})
        if doc is None:
            return None, errors
        doc.update(CreditNoteID=str(uuid.uuid4()), RemainingCredit=doc["Total"], Allocations=[])
        self._touch(doc)
        self.credit_notes[doc["CreditNoteID"]] = doc
        return doc, []

    def allocate(self, credit_note_id: str, el: dict[str, Any]) -> tuple[dict[str, Any] | None,
                                                                           list[str]]:
        """Apply part of a credit note to an invoice of the same contact."""
        cn = self.credit_notes.get(credit_note_id)
        if cn is None:
            raise KeyError(credit_note_id)
        inv = self.invoices.get((el.get("Invoice") or {}).get("InvoiceID", ""))
        amount = _d(el.get("Amount", 0))
        if inv is None:
            return None, ["Invoice could not be found."]
        if cn["Status"] != "AUTHORISED" or inv["Status"] != "AUTHORISED":
            return None, ["Only authorised credit notes can be allocated to authorised invoices."]
        if inv["Contact"]["ContactID"] != cn["Contact"]["ContactID"]:
            return None, ["The credit note and the invoice must belong to the same contact."]
        if amount <= 0 or amount > cn["RemainingCredit"] or amount > inv["AmountDue"]:
            return None, ["The amount must be positive and at most the remaining credit and "
                          "the amount due on the invoice."]
        allocation = {"AllocationID": str(uuid.uuid4()), "Amount": amount,
                      "Date": _date(el.get("Date")), "Invoice": {"InvoiceID": inv["InvoiceID"]},
                      "CreditNote": {"CreditNoteID": credit_note_id}}
        cn["RemainingCredit"] -= amount
        cn["Allocations"].append(allocation)
        if cn["RemainingCredit"] == 0:
            cn["Status"] = "PAID"
        inv["AmountCredited"] += amount
        inv["AmountDue"] -= amount
        inv["CreditNotes"].append({"CreditNoteID": credit_note_id, "AppliedAmount": amount})
        if inv["AmountDue"] == 0:
            inv["Status"] = "PAID"
        self._touch(cn)
        self._touch(inv, "INVOICE")
        return allocation, []

    # ------------------------------------------------------------------------------ payments
    def create_payment(self, el: dict[str, Any]) -> tuple[dict[str, Any] | None, list[str]]:
        """Pay (part of) an authorised invoice into a bank account; never more than is due."""
        ref = el.get("Invoice") or {}
        inv = self.invoices.get(ref.get("InvoiceID", "")) or next(
            (i for i in self.invoices.values()
             if ref.get("InvoiceNumber") and i.get("InvoiceNumber") == ref.get("InvoiceNumber")),
            None)
        errors: list[str] = []
        account = (el.get("Account") or {}).get("Code")
        if account not in BANK_ACCOUNTS & self.accounts:
            errors.append("Account must be a valid bank account or an account with payments "
                          "enabled.")
        if inv is None:
            return None, errors + ["Invoice could not be found."]
        amount = _d(el.get("Amount", 0))
        if inv["Status"] != "AUTHORISED":
            errors.append(f"Payment cannot be created for an invoice with status {inv['Status']}.")
        elif amount <= 0:
            errors.append("Payment amount must be greater than zero.")
        elif amount > inv["AmountDue"]:
            errors.append("Payment amount exceeds the amount outstanding on this document.")
        if _date(el.get("Date")) is None:
            errors.append("Date must be specified.")
        if errors:
            return None, errors
        payment = {"PaymentID": str(uuid.uuid4()), "Date": _date(el["Date"]), "Amount": amount,
                   "Reference": el.get("Reference", ""), "Status": "AUTHORISED",
                   "PaymentType": "ACCRECPAYMENT", "Account": {"Code": account},
                   "Invoice": {"InvoiceID": inv["InvoiceID"],
                               "InvoiceNumber": inv.get("InvoiceNumber", ""),
                               "CurrencyCode": inv["CurrencyCode"],
                               "Contact": inv["Contact"]}}
        self._touch(payment)
        self.payments[payment["PaymentID"]] = payment
        inv["AmountPaid"] += amount
        inv["AmountDue"] -= amount
        inv["Payments"].append({"PaymentID": payment["PaymentID"], "Amount": amount,
                                "Date": payment["Date"], "Reference": payment["Reference"]})
        if inv["AmountDue"] == 0:
            inv["Status"] = "PAID"
        self._touch(inv, "INVOICE")
        return payment, []

    def delete_payment(self, payment_id: str) -> dict[str, Any]:
        """Delete a payment (Xero's only way to reverse one): the invoice is due again."""
        payment = self.payments.get(payment_id)
        if payment is None:
            raise KeyError(payment_id)
        if payment["Status"] == "DELETED":
            raise XeroRefusal(["The payment has already been deleted."], payment)
        inv = self.invoices[payment["Invoice"]["InvoiceID"]]
        payment["Status"] = "DELETED"
        inv["AmountPaid"] -= payment["Amount"]
        inv["AmountDue"] += payment["Amount"]
        inv["Payments"] = [p for p in inv["Payments"] if p["PaymentID"] != payment_id]
        if inv["Status"] == "PAID":
            inv["Status"] = "AUTHORISED"
        self._touch(payment)
        self._touch(inv, "INVOICE")
        return payment
