"""A customer's statement for a period, as the customer reads it (seed 002).

The figures are the ledger's (:func:`hub.ledger.statement`, built on the billing core's
:mod:`hub.core.ledger.statements`), so the PDF and ``GET /organisations/{id}/statement`` agree.
This module only prepares them for a customer's eyes:

- a deleted invoice was never owed, so it is not listed (the Total invoiced figures leave it out
  already);
- a payment shows its reference (cheque number, processor charge id) when it has one;
- a transaction without a description says what it is (Invoice, Payment, Refund, ...).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from hub.config import HubSettings
from hub.core.ledger.statements import Statement
from hub.db.models.catalogue import Organisation
from hub.db.models.ledger import Payment, Transaction
from hub.customer_docs.context import company_view, customer_view
from hub.errors import NotFound, ValidationFailed

__all__ = ["load_statement", "statement_context", "statement_period", "STATEMENT_MODES",
           "NAMED_PERIODS"]

STATEMENT_MODES: tuple[str, ...] = ("documents", "transactions")

#: How a transaction's category reads on a statement when it has no description of its own.
_CATEGORY_LABELS = {"auto": "Invoice", "manual": "Manual transaction", "payment": "Payment",
                    "refund": "Refund", "credit_note": "Credit note"}


#: The seed's quick choices of period ("this/last month"), plus years.
NAMED_PERIODS: tuple[str, ...] = ("this-month", "last-month", "this-year", "last-year")


def statement_period(name: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """First and last day of a named period relative to ``today`` (see ``NAMED_PERIODS``)."""
    first_of_month = today.replace(day=1)
    if name == "this-month":
        start = first_of_month
        end = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    elif name == "last-month":
        end = first_of_month - dt.timedelta(days=1)
        start = end.replace(day=1)
    elif name == "this-year":
        start, end = dt.date(today.year, 1, 1), dt.date(today.year, 12, 31)
    elif name == "last-year":
        start, end = dt.date(today.year - 1, 1, 1), dt.date(today.year - 1, 12, 31)
    else:
        raise ValidationFailed(f"period {name!r} is unknown",
                               hint=f"use one of {', '.join(NAMED_PERIODS)}, or --from/--to")
    return start, end


def _key_id(key: Any) -> Any:
    """The row id behind a statement row's key (the ledger uses the id itself)."""
    return key[1] if isinstance(key, tuple) and len(key) == 2 else key


def _for_customer(session: Session, statement: Statement) -> Statement:
    if statement.mode == "documents":
        payment_ids = [_key_id(r.key) for r in statement.documents if r.kind == "payment"]
        references = dict(session.execute(select(Payment.id, Payment.reference).where(
            Payment.id.in_(payment_ids))).all()) if payment_ids else {}
        rows = []
        for row in statement.documents:
            if row.kind == "invoice" and str(row.status) == "deleted":
                continue
            if row.kind == "payment" and references.get(_key_id(row.key)):
                row = dataclasses.replace(row, number=references[_key_id(row.key)])
            rows.append(dataclasses.replace(row, status=str(row.status)))
        return dataclasses.replace(statement, documents=rows)
    ids = [_key_id(row.key) for row, _ in statement.transactions]
    categories = dict(session.execute(select(Transaction.id, Transaction.category).where(
        Transaction.id.in_(ids))).all()) if ids else {}
    listed = []
    for row, running in statement.transactions:
        if not row.description:
            category = str(categories.get(_key_id(row.key), ""))
            row = dataclasses.replace(row, description=_CATEGORY_LABELS.get(category, category))
        listed.append((row, running))
    return dataclasses.replace(statement, transactions=listed)


def load_statement(session: Session, organisation_id: int, start: dt.date, end: dt.date,
                   mode: str = "documents") -> tuple[Organisation, Statement]:
    """The organisation and its statement for ``start``..``end`` (inclusive) in ``mode``,
    prepared for the customer (see the module docstring)."""
    from hub.ledger import statement as ledger_statement

    if mode not in STATEMENT_MODES:
        raise ValidationFailed(f"statement mode {mode!r} is unknown",
                               hint="use --mode documents or --mode transactions")
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound(f"organisation {organisation_id} does not exist",
                       hint="list organisations with `hub org list`")
    statement = ledger_statement(session, organisation_id, start, end, mode)
    return organisation, _for_customer(session, statement)


def statement_context(session: Session, settings: HubSettings, organisation_id: int,
                      start: dt.date, end: dt.date, mode: str,
                      today: dt.date) -> dict[str, Any]:
    """Everything ``statement.html`` needs."""
    organisation, statement = load_statement(session, organisation_id, start, end, mode)
    return {"company": company_view(settings), "customer": customer_view(organisation),
            "statement": statement, "currency": statement.currency, "generated_on": today}
