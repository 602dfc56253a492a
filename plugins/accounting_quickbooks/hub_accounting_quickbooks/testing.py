"""Test kit for this plugin (usable by the host's tests, benches and demos too).

``connected(sandbox, url)`` runs the real OAuth flow against a :class:`QuickBooksSandbox` and
returns a ready :class:`hub.Connection`; ``invoice_doc``/``credit_note_doc``/``payment_doc``/
``line`` build documents with exact Money, tax worked out per line (``inclusive`` for
tax-inclusive prices).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx

from hub import (
    Connection, ConnectionConfig, CreditNoteDoc, InvoiceDoc, LineDoc, MemoryState, Money,
    PaymentDoc,
)

from hub_accounting_quickbooks.auth import authorize_url, exchange_code
from hub_accounting_quickbooks.sandbox import QuickBooksSandbox
from hub_accounting_quickbooks.settings import QuickBooksSettings

__all__ = ["connected", "consent", "invoice_doc", "credit_note_doc", "payment_doc", "line"]

ISSUE = dt.date(2026, 11, 1)


def consent(connection: Connection) -> None:
    """Go through Intuit's consent for ``connection`` (the sandbox grants it at once)."""
    with httpx.Client() as http:
        answer = http.get(authorize_url(connection), follow_redirects=False)
        query = parse_qs(urlparse(answer.headers["location"]).query)
        exchange_code(connection, http, query["code"][0], query["state"][0],
                      query["realmId"][0])


def connected(sandbox: QuickBooksSandbox, url: str, *, name: str = "qbo", state: Any = None,
              clock=None, **settings: Any) -> Connection:
    """A Connection to ``sandbox`` at ``url`` that went through consent and code exchange; the
    hub's rate budgets run on the sandbox's scaled clock (``rate_time_scale``)."""
    model = QuickBooksSettings(**sandbox.settings_for(url, **settings))
    config = ConnectionConfig(name=name, plugin="quickbooks", rate_time_scale=sandbox.clock.scale)
    connection = Connection(name=name, plugin="quickbooks", settings=model, config=config,
                            state=state if state is not None else MemoryState(),
                            clock=clock or sandbox.clock.now)
    consent(connection)
    return connection


def line(description: str = "Managed workstation", quantity: str = "3",
         unit_price: str = "45.00", tax_rate: str = "0", currency: str = "USD",
         product_code: str | None = None, inclusive: bool = False) -> LineDoc:
    """One line with its amount and tax worked out exactly, per line."""
    amount = (Money(unit_price, currency) * Decimal(quantity)).rounded()
    rate = Decimal(tax_rate)
    share = rate / (100 + rate) if inclusive else rate / 100
    tax = (amount * share).rounded()
    return LineDoc(description=description, quantity=quantity,
                   unit_price=Money(unit_price, currency), amount=amount, tax_rate=tax_rate,
                   tax_amount=tax, product_code=product_code)


def invoice_doc(i: int, *, organisation_id: int = 1, lines: tuple[LineDoc, ...] | None = None,
                currency: str = "USD", number: str | None = None,
                inclusive: bool = False) -> InvoiceDoc:
    """Invoice ``i`` (number ``INV-<i>``) for organisation ``organisation_id``."""
    lines = lines or (line(currency=currency),)
    amounts = Money.sum((ln.amount for ln in lines), currency)
    tax = Money.sum((ln.tax_amount for ln in lines), currency)
    subtotal = amounts - tax if inclusive else amounts
    return InvoiceDoc(id=i, number=number or f"INV-{i:05d}", organisation_id=organisation_id,
                      organisation_name=f"Organisation {organisation_id}", issue_date=ISSUE,
                      due_date=ISSUE + dt.timedelta(days=30), currency=currency, lines=lines,
                      subtotal=subtotal, tax_total=tax, total=subtotal + tax,
                      prices_include_tax=inclusive)


def credit_note_doc(i: int, *, invoice: InvoiceDoc | None = None, amount: str = "20.00",
                    organisation_id: int = 1, allocate: str | None = None) -> CreditNoteDoc:
    """Credit note ``CN-<i>``, optionally applied (``allocate``) to ``invoice``."""
    ln = line(description="Credit", quantity="1", unit_price=amount)
    allocations = ((invoice.id, Money(allocate, "USD")),) if invoice and allocate else ()
    return CreditNoteDoc(id=i, number=f"CN-{i:05d}", organisation_id=organisation_id,
                         organisation_name=f"Organisation {organisation_id}", issue_date=ISSUE,
                         currency="USD", lines=(ln,), total=ln.amount,
                         invoice_id=invoice.id if invoice else None,
                         invoice_number=invoice.number if invoice else None,
                         allocations=allocations)


def payment_doc(i: int, invoice: InvoiceDoc, amount: str, *, reversal_of: int | None = None,
                reference: str | None = None) -> PaymentDoc:
    """Payment ``i`` of ``amount`` against ``invoice`` (a reversal when ``reversal_of``)."""
    return PaymentDoc(id=i, organisation_id=invoice.organisation_id, invoice_id=invoice.id,
                      invoice_number=invoice.number, date=ISSUE + dt.timedelta(days=5),
                      amount=Money(amount, invoice.currency), method="bank_transfer",
                      reference=reference, reversal_of=reversal_of)
