"""One QuickBooks Online company inside the sandbox, with the rules QuickBooks enforces.

Entities are plain dicts shaped like QuickBooks' JSON (amounts ``Decimal``, ids numeric
strings, ``SyncToken`` counting updates, ``MetaData`` times). A refused write raises
:class:`QboFault` with Intuit's code and words: ``6140`` a duplicate DocNumber, ``6240`` a
duplicate customer name, ``5010`` a stale SyncToken, ``610`` an object not found, ``6000`` a
business rule (e.g. a payment over the balance). Tax is worked out the way QuickBooks does it:
per tax code over the whole document, rounded once (:func:`document_tax`).
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable

__all__ = ["Books", "QboFault", "document_tax", "DEFAULT_TAX_CODES", "DEFAULT_TAX_RATES"]

CENT = Decimal("0.01")
#: TaxRate Id -> (name, percentage)
DEFAULT_TAX_RATES = {"1": ("VAT 20%", Decimal("20")), "2": ("VAT 5%", Decimal("5")),
                     "3": ("Zero rated", Decimal("0")), "4": ("GST 10%", Decimal("10"))}
#: TaxCode Id -> (name, [TaxRate Ids], active)
DEFAULT_TAX_CODES = {"5": ("20.0% S", ["1"], True), "6": ("5.0% R", ["2"], True),
                     "7": ("0.0% Z", ["3"], True), "8": ("GST", ["4"], True),
                     "9": ("Old 17.5%", ["1"], False), "NON": ("Non", [], True)}


class QboFault(Exception):
    """A refused request: answered as ``{"Fault": {"Error": [...]}}`` (400, or per batch item)."""

    def __init__(self, code: str, message: str, detail: str = "", element: str = "",
                 kind: str = "ValidationFault") -> None:
        super().__init__(f"{code} {message}")
        self.code, self.message, self.detail, self.element, self.kind = (
            code, message, detail or message, element, kind)

    def body(self) -> dict[str, Any]:
        """The ``Fault`` object of the answer."""
        return {"Error": [{"Message": self.message, "Detail": self.detail, "code": self.code,
                           "element": self.element}], "type": self.kind}


def _d(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def document_tax(lines: list[tuple[Decimal, Decimal, str]], inclusive: bool) -> Decimal:
    """QuickBooks' tax of a document: per tax code, ``round(Σ net × rate)``, or for
    tax-inclusive prices ``round(Σ gross × rate / (100 + rate))`` (``lines`` are
    (amount: net, or gross when inclusive; rate; code))."""
    groups: dict[tuple[str, Decimal], Decimal] = {}
    for amount, rate, code in lines:
        groups[(code, rate)] = groups.get((code, rate), Decimal(0)) + amount
    total = Decimal(0)
    for (_, rate), amount in groups.items():
        share = rate / (100 + rate) if inclusive else rate / 100
        total += (amount * share).quantize(CENT, ROUND_HALF_UP)
    return total


class Books:
    """Customers, invoices, credit memos and payments of one company, and its change log."""

    ENTITIES = ("Customer", "Invoice", "CreditMemo", "Payment")

    def __init__(self, now: Callable[[], dt.datetime]) -> None:
        self.now = now
        self.store: dict[str, dict[str, dict[str, Any]]] = {e: {} for e in self.ENTITIES}
        self.tax_rates = {i: {"Id": i, "Name": n, "RateValue": r, "Active": True}
                          for i, (n, r) in DEFAULT_TAX_RATES.items()}
        self.tax_codes = {i: {"Id": i, "Name": n, "Active": a, "Taxable": bool(rates),
                              "SalesTaxRateList": {"TaxRateDetail": [
                                  {"TaxRateRef": {"value": r}, "TaxTypeApplicable":
                                   "TaxOnAmount", "TaxOrder": 0} for r in rates]}}
                          for i, (n, rates, a) in DEFAULT_TAX_CODES.items()}
        self.items = {"1": "Services", "2": "Hours", "12": "Microsoft 365 Business Premium"}
        self.accounts = {"35": "Checking", "4": "Undeposited Funds"}
        #: DocNumbers a test wants refused: number -> (code, "Message: Detail")
        self.reject_numbers: dict[str, tuple[str, str]] = {}
        #: (entity, id, operation, time): what webhooks and CDC report
        self.changes: list[tuple[str, str, str, dt.datetime]] = []
        self.deleted: dict[str, dict[str, Any]] = {}
        self._next = 100

    # ------------------------------------------------------------------------------ helpers
    def invoices(self) -> dict[str, dict[str, Any]]:
        """Stored invoices by Id."""
        return self.store["Invoice"]

    def payments(self) -> dict[str, dict[str, Any]]:
        """Stored payments by Id."""
        return self.store["Payment"]

    def customers(self) -> dict[str, dict[str, Any]]:
        """Stored customers by Id."""
        return self.store["Customer"]

    def _stamp(self, entity: str, doc: dict[str, Any], operation: str) -> None:
        now = self.now()
        meta = doc.setdefault("MetaData", {"CreateTime": now.isoformat()})
        meta["LastUpdatedTime"] = now.isoformat()
        self.changes.append((entity, doc["Id"], operation, now))

    def _new_id(self) -> str:
        self._next += 1
        return str(self._next)

    def get(self, entity: str, entity_id: str) -> dict[str, Any]:
        """One stored entity, or fault 610."""
        doc = self.store.get(entity, {}).get(entity_id)
        if doc is None:
            raise QboFault("610", "Object Not Found",
                           f"Object Not Found : Something you're trying to use has been made "
                           f"inactive. Check the fields with accounts, customers, items, "
                           f"vendors or employees. ({entity} Id={entity_id})")
        return doc

    def _current(self, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        doc = self.get(entity, str(body.get("Id", "")))
        if str(body.get("SyncToken")) != doc["SyncToken"]:
            raise QboFault("5010", "Stale Object Error",
                           f"Stale Object Error : You and {doc.get('MetaData', {}).get('LastUpdatedTime')} "
                           f"were working on this at the same time. {entity} Id={doc['Id']}: "
                           f"SyncToken {body.get('SyncToken')} is not the current "
                           f"{doc['SyncToken']}")
        return doc

    # ------------------------------------------------------------------------------ customers
    def create_customer(self, body: dict[str, Any]) -> dict[str, Any]:
        """A customer; its DisplayName must be unique among customers."""
        name = (body.get("DisplayName") or "").strip()
        if not name:
            raise QboFault("6000", "A business validation error has occurred while processing "
                                   "your request", "Business Validation Error: DisplayName is "
                                                   "required", "DisplayName")
        if any(c["DisplayName"].lower() == name.lower() for c in self.customers().values()):
            raise QboFault("6240", "Duplicate Name Exists Error",
                           f"The name supplied already exists. : {name}")
        doc = {**body, "Id": self._new_id(), "SyncToken": "0", "DisplayName": name,
               "Active": True, "Balance": Decimal("0.00")}
        self._stamp("Customer", doc, "Create")
        self.customers()[doc["Id"]] = doc
        return doc

    # ------------------------------------------------------------------------------ documents
    def _lines(self, body: dict[str, Any], inclusive: bool) -> tuple[list[dict], list[tuple]]:
        lines, taxed = [], []
        for n, raw in enumerate(body.get("Line") or [], start=1):
            detail = raw.get("SalesItemLineDetail") or {}
            amount = _d(raw.get("Amount", 0))
            qty, unit = _d(detail.get("Qty", 1)), _d(detail.get("UnitPrice", amount))
            if (qty * unit).quantize(CENT, ROUND_HALF_UP) != amount:
                raise QboFault("6070", "Amount is not equal to UnitPrice * Qty",
                               f"Amount is not equal to UnitPrice * Qty. Supplied value:"
                               f"{amount:f} (line {n})", "Line.Amount")
            if (detail.get("ItemRef") or {}).get("value") not in self.items:
                raise QboFault("610", "Object Not Found", f"Invalid Reference Id : Item "
                               f"{(detail.get('ItemRef') or {}).get('value')} (line {n})")
            code = (detail.get("TaxCodeRef") or {}).get("value", "NON")
            tax_code = self.tax_codes.get(code)
            if tax_code is None or not tax_code["Active"]:
                raise QboFault("6000", "A business validation error has occurred while "
                               "processing your request", f"Business Validation Error: "
                               f"Invalid tax code {code} (line {n})", "TaxCodeRef")
            rate = sum((self.tax_rates[d["TaxRateRef"]["value"]]["RateValue"]
                        for d in tax_code["SalesTaxRateList"]["TaxRateDetail"]), Decimal(0))
            gross = _d(detail["TaxInclusiveAmt"]) if inclusive else amount
            lines.append({**raw, "Id": str(n), "LineNum": n})
            taxed.append((gross, rate, code))
        if not lines:
            raise QboFault("6000", "A business validation error has occurred while processing "
                                   "your request", "Business Validation Error: You must add at "
                                                   "least one line.", "Line")
        return lines, taxed

    def _create_document(self, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        number = body.get("DocNumber")
        if number and number in self.reject_numbers:
            code, message = self.reject_numbers[number]
            head, _, detail = message.partition(": ")  # Intuit's Message, then its Detail
            raise QboFault(code, head, detail or head)
        if number and any(d.get("DocNumber") == number for d in self.store[entity].values()):
            taken = next(d for d in self.store[entity].values() if d.get("DocNumber") == number)
            raise QboFault("6140", "Duplicate Document Number Error",
                           f"Duplicate Document Number Error : You must specify a different "
                           f"number. This number has already been used. DocNumber={number} is "
                           f"assigned to TxnType={entity} with TxnId={taken['Id']}")
        self.get("Customer", (body.get("CustomerRef") or {}).get("value", ""))
        inclusive = body.get("GlobalTaxCalculation") == "TaxInclusive"
        lines, taxed = self._lines(body, inclusive)
        tax = document_tax(taxed, inclusive)
        gross = sum((g for g, _, _ in taxed), Decimal(0))
        total = gross if inclusive else gross + tax
        doc = {**body, "Id": self._new_id(), "SyncToken": "0", "Line": lines,
               "TxnTaxDetail": {"TotalTax": tax}, "TotalAmt": total}
        if entity == "Invoice":
            doc["Balance"] = total
        else:
            doc["RemainingCredit"] = total
            doc["Balance"] = total
        self._stamp(entity, doc, "Create")
        self.store[entity][doc["Id"]] = doc
        return doc

    def create_invoice(self, body: dict[str, Any]) -> dict[str, Any]:
        """An invoice: DocNumber unique, lines consistent, tax worked out per tax code."""
        return self._create_document("Invoice", body)

    def create_credit_memo(self, body: dict[str, Any]) -> dict[str, Any]:
        """A credit memo, as an invoice."""
        return self._create_document("CreditMemo", body)

    def void_invoice(self, body: dict[str, Any]) -> dict[str, Any]:
        """Void: amounts become zero and the note says Voided; refused with payments linked."""
        doc = self._current("Invoice", body)
        if doc.get("LinkedTxn"):
            raise QboFault("6000", "A business validation error has occurred while processing "
                                   "your request", "Business Validation Error: This "
                                                   "transaction has payments or credits "
                                                   "applied and cannot be voided.")
        doc.update(TotalAmt=Decimal("0.00"), Balance=Decimal("0.00"), PrivateNote="Voided",
                   SyncToken=str(int(doc["SyncToken"]) + 1))
        for line in doc["Line"]:
            line["Amount"] = Decimal("0.00")
        self._stamp("Invoice", doc, "Void")
        return doc

    # ------------------------------------------------------------------------------ payments
    def create_payment(self, body: dict[str, Any]) -> dict[str, Any]:
        """A payment: each line links an invoice (paid) or a credit memo (used); never more
        than the balance; the lines' invoices minus credit memos make TotalAmt."""
        customer = (body.get("CustomerRef") or {}).get("value", "")
        self.get("Customer", customer)
        applied = Decimal(0)
        effects = []
        for line in body.get("Line") or []:
            amount = _d(line.get("Amount", 0))
            for link in line.get("LinkedTxn") or []:
                entity = {"Invoice": "Invoice", "CreditMemo": "CreditMemo"}.get(link.get("TxnType"))
                if entity is None:
                    raise QboFault("6000", "A business validation error has occurred while "
                                   "processing your request", f"Business Validation Error: "
                                   f"cannot link a payment to {link.get('TxnType')}")
                doc = self.get(entity, str(link.get("TxnId")))
                if (doc.get("CustomerRef") or {}).get("value") != customer:
                    raise QboFault("6000", "A business validation error has occurred while "
                                   "processing your request", "Business Validation Error: the "
                                   "transaction belongs to another customer")
                if amount <= 0 or amount > doc["Balance"]:
                    raise QboFault("6000", "A business validation error has occurred while "
                                   "processing your request", f"Business Validation Error: "
                                   f"the payment line {amount:f} is more than the open balance "
                                   f"{doc['Balance']:f} of {entity} {doc['Id']}")
                applied += amount if entity == "Invoice" else -amount
                effects.append((doc, amount))
        total = _d(body.get("TotalAmt", 0))
        if total != applied:
            raise QboFault("6000", "A business validation error has occurred while processing "
                                   "your request", f"Business Validation Error: TotalAmt "
                                   f"{total:f} does not equal the amount applied {applied:f}")
        doc = {**body, "Id": self._new_id(), "SyncToken": "0", "UnappliedAmt": Decimal("0.00")}
        for target, amount in effects:
            target["Balance"] -= amount
            if "RemainingCredit" in target:
                target["RemainingCredit"] -= amount
            target.setdefault("LinkedTxn", []).append({"TxnId": doc["Id"], "TxnType": "Payment"})
            target["SyncToken"] = str(int(target["SyncToken"]) + 1)
        self._stamp("Payment", doc, "Create")
        self.payments()[doc["Id"]] = doc
        return doc

    def delete_payment(self, body: dict[str, Any]) -> dict[str, Any]:
        """Delete a payment: what it paid is open again."""
        doc = self._current("Payment", body)
        for line in doc.get("Line") or []:
            for link in line.get("LinkedTxn") or []:
                target = self.store["Invoice" if link["TxnType"] == "Invoice" else "CreditMemo"][
                    link["TxnId"]]
                target["Balance"] += _d(line["Amount"])
                if "RemainingCredit" in target:
                    target["RemainingCredit"] += _d(line["Amount"])
                target["LinkedTxn"] = [t for t in target.get("LinkedTxn", [])
                                       if t["TxnId"] != doc["Id"]]
        del self.payments()[doc["Id"]]
        self.deleted[doc["Id"]] = doc
        self._stamp("Payment", doc, "Delete")
        return {"Id": doc["Id"], "status": "Deleted", "domain": "QBO"}
