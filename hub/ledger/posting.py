"""Putting invoices and manual transactions on the customer's account."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Sequence

from sqlalchemy import insert, union, update
from sqlmodel import Session, select

from hub.db.sql import among, insert_rows
from hub.db.models._base import utcnow
from hub.db.models.future_items import FutureItem
from hub.db.models.invoices import Invoice, InvoiceKind, InvoiceStatus
from hub.core.ledger.statuses import invoice_status
from hub.db.models.ledger import (
    Allocation, Payment, PaymentStatus, Side, Transaction, TransactionCategory,
)
from hub.errors import DocumentRefused, ValidationFailed
from hub.ledger._base import ZERO, get_organisation, is_live, refresh_invoice
from hub.ledger.amounts import exact_amount
from hub.validation.fields import check_not_far_ahead, check_not_far_back

__all__ = ["post_invoice", "post_invoices", "auto_transactions", "add_transaction",
           "remove_transaction"]

#: Invoice ids per lookup. ``among`` sends a list of ids as one parameter (a JSON text on
#: SQLite, an array on PostgreSQL), so no parameter limit applies; this bounds one statement's
#: size, and takes a billing confirm's chunk (hub.billing.runs.CONFIRM_CHUNK) in one.
_IDS_PER_QUERY = 2_000


def auto_transactions(session: Session, invoice_id: int) -> list[Transaction]:
    """The auto (+Debit) transactions an invoice wrote when it was posted."""
    return list(session.exec(select(Transaction).where(
        Transaction.invoice_id == invoice_id, Transaction.category == TransactionCategory.auto)))


def post_invoice(session: Session, invoice: Invoice | Sequence[Invoice], *,
                 today: dt.date | None = None) -> Transaction | list[Transaction]:
    """Write the invoice's auto debit transaction (its total) when it is finalised.

    Called by the billing confirm in the same transaction, with one invoice or a list of them
    (then a list of transactions is returned). Posting twice is harmless: the existing auto
    transaction is returned. A proforma invoice is never posted.
    """
    if not isinstance(invoice, Invoice):
        return [post_invoice(session, one, today=today) for one in invoice]
    _check_postable(invoice)
    if invoice.id is None:
        session.add(invoice)
        session.flush()
    existing = auto_transactions(session, invoice.id)
    if existing:
        return existing[0]
    if invoice.status == InvoiceStatus.draft:
        invoice.status = InvoiceStatus.unpaid
    tx = Transaction(organisation_id=invoice.organisation_id, currency=invoice.currency,
                     side=Side.debit, category=TransactionCategory.auto, amount=invoice.total,
                     date=invoice.issue_date, invoice_id=invoice.id,
                     description=f"invoice {invoice.number or invoice.id}")
    session.add(tx)
    session.flush()
    refresh_invoice(session, invoice, today or invoice.issue_date)
    return tx


def _check_postable(invoice: Invoice) -> None:
    if invoice.kind == InvoiceKind.proforma:
        raise ValidationFailed(f"proforma invoice {invoice.number or invoice.id} is not posted to "
                               "the ledger", hint="convert it to an invoice first")
    if invoice.status == InvoiceStatus.deleted or invoice.deleted_at is not None:
        raise DocumentRefused(f"invoice {invoice.number} is deleted and cannot be posted")


def _in_chunks(ids: Sequence[int]):
    for start in range(0, len(ids), _IDS_PER_QUERY):
        yield ids[start:start + _IDS_PER_QUERY]


def post_invoices(session: Session, invoices: Sequence[Invoice | int], *,
                  today: dt.date | None = None, returning: bool = True
                  ) -> list[Transaction] | None:
    """:func:`post_invoice` for many invoices at once, with set-based reads and writes.

    Writes exactly the rows ``[post_invoice(session, i) for i in invoices]`` writes (one auto
    debit per invoice not yet posted, the invoice's status and paid/credit figures refreshed)
    and returns the same list of transactions, but with a handful of statements per
    ``_IDS_PER_QUERY`` invoices instead of several per invoice: the billing confirm posts thousands. Everything is
    checked before anything is written, so a refused invoice leaves the others unposted too.
    ``returning=False`` returns ``None`` and spares reading the transactions back (the
    billing confirm needs none of them).

    ``invoices`` may also be ids of stored invoices (the billing confirm's): when all are, and
    none is still a draft, the invoices are read as plain rows of the columns posting needs
    and their figures written with one UPDATE per chunk, without an ORM object per invoice.
    """
    invoices = list(invoices)
    if invoices and all(isinstance(i, int) for i in invoices):
        done = _post_stored(session, invoices, today, returning)
        if done is not _AS_OBJECTS:
            return done
    if any(isinstance(i, int) for i in invoices):
        loaded = {i.id: i for i in _load(session, [i for i in invoices if isinstance(i, int)])}
        invoices = [loaded[i] if isinstance(i, int) else i for i in invoices]
    for invoice in invoices:
        _check_postable(invoice)
    unsaved = [i for i in invoices if i.id is None]
    if unsaved:
        session.add_all(unsaved)
        session.flush()
    ids = sorted({i.id for i in invoices})
    posted: dict[int, Transaction] = {}
    for some in _in_chunks(ids):
        for tx in session.exec(select(Transaction).where(
                among(Transaction.invoice_id, some, session.get_bind()),
                Transaction.category == TransactionCategory.auto).order_by(Transaction.id)):
            posted.setdefault(tx.invoice_id, tx)
    fresh: list[Invoice] = []
    fresh_ids: set[int] = set()
    for invoice in invoices:
        if invoice.id in posted or invoice.id in fresh_ids:
            continue  # posted before (or earlier in this list): posting again is harmless
        fresh_ids.add(invoice.id)
        if invoice.status == InvoiceStatus.draft:
            invoice.status = InvoiceStatus.unpaid
        fresh.append(invoice)
    if fresh:
        # The columns Transaction(...) in post_invoice gets (with its defaults), inserted with
        # one executemany (in order, so ids follow the invoices as one by one): on PostgreSQL
        # that is ~3x cheaper than a multi-row INSERT ... RETURNING of the ORM rows.
        now = utcnow()
        rows = [{"organisation_id": i.organisation_id, "currency": i.currency,
                 "side": Side.debit, "category": TransactionCategory.auto, "amount": i.total,
                 "date": i.issue_date, "invoice_id": i.id,
                 "description": f"invoice {i.number or i.id}", "payment_id": None,
                 "credit_note_id": None, "created_at": now} for i in fresh]
        session.flush()  # the status changes above go first, as in post_invoice
        session.execute(insert(Transaction.__table__), rows)
        _refresh_fresh(session, fresh, today)
    if not returning:
        return None
    for some in _in_chunks([i.id for i in fresh]):
        posted.update((tx.invoice_id, tx) for tx in session.exec(select(Transaction).where(
            among(Transaction.invoice_id, some, session.get_bind()),
            Transaction.category == TransactionCategory.auto)))
    return [posted[i.id] for i in invoices]


#: The invoice columns posting reads (here and in its status refresh).
_POSTING_COLUMNS = ("id", "organisation_id", "currency", "kind", "status", "number",
                    "issue_date", "due_date", "total", "amount_paid", "credit_applied",
                    "deleted_at")

#: :func:`_post_stored`'s answer when the invoices need the ORM way after all.
_AS_OBJECTS = object()


def _load(session: Session, ids: Sequence[int]) -> list[Invoice]:
    """The ORM invoices of ``ids`` (what the session holds of them, refreshed), by id."""
    table = Invoice.__table__
    found: list[Invoice] = []
    for some in _in_chunks(sorted(set(ids))):
        found.extend(session.exec(select(Invoice).where(
            among(table.c.id, some, session.get_bind())).order_by(table.c.id)
            .execution_options(populate_existing=True)))
    if len(found) != len(set(ids)):
        missing = sorted(set(ids) - {i.id for i in found})
        raise ValidationFailed(f"no invoice with id {missing[0]}")
    return found


def _post_stored(session: Session, ids: Sequence[int], today: dt.date | None,
                 returning: bool) -> list[Transaction] | None | object:
    """:func:`post_invoices` for stored invoices given by id, read as rows (not ORM objects:
    the billing confirm posts thousands, and an ORM object each cost more than the posting).
    Returns ``_AS_OBJECTS`` without writing anything when one is a draft (its status turns
    unpaid before its debit is written: the ORM way does that). The session must hold no
    changed ORM object of these invoices (they are read from the database)."""
    session.flush()
    table = Invoice.__table__
    bind = session.get_bind()
    cols = [table.c[name] for name in _POSTING_COLUMNS]
    rows = {}
    for some in _in_chunks(sorted(set(ids))):
        rows.update((r.id, r) for r in session.execute(
            select(*cols).where(among(table.c.id, some, bind))))
    if len(rows) != len(set(ids)):
        return _AS_OBJECTS  # _load names the missing one
    for row in rows.values():
        _check_postable(row)
    if any(row.status == InvoiceStatus.draft for row in rows.values()):
        return _AS_OBJECTS
    posted: dict[int, Transaction] = {}
    for some in _in_chunks(sorted(rows)):
        for tx in session.exec(select(Transaction).where(
                among(Transaction.invoice_id, some, bind),
                Transaction.category == TransactionCategory.auto).order_by(Transaction.id)):
            posted.setdefault(tx.invoice_id, tx)
    fresh = [rows[i] for i in dict.fromkeys(ids) if i not in posted]
    if fresh:
        now = utcnow()
        insert_rows(session.connection(), Transaction.__table__, [
            {"organisation_id": i.organisation_id, "currency": i.currency, "side": Side.debit,
             "category": TransactionCategory.auto, "amount": i.total, "date": i.issue_date,
             "invoice_id": i.id, "description": f"invoice {i.number or i.id}",
             "payment_id": None, "credit_note_id": None, "created_at": now} for i in fresh])
        _refresh_rows(session, fresh, today)
    if not returning:
        return None
    for some in _in_chunks([i.id for i in fresh]):
        posted.update((tx.invoice_id, tx) for tx in session.exec(select(Transaction).where(
            among(Transaction.invoice_id, some, bind),
            Transaction.category == TransactionCategory.auto)))
    return [posted[i] for i in ids]


def _refresh_rows(session: Session, rows: Sequence[Any], today: dt.date | None) -> None:
    """:func:`_refresh_fresh` for invoices read as rows: the figures of those with nothing
    allocated are computed here and the changed ones written with one UPDATE per chunk; the
    others go through refresh_invoice with their ORM object."""
    touched = _touched(session, [r.id for r in rows if is_live(r)])
    changed: dict[InvoiceStatus, list[int]] = {}
    for row in rows:
        day = today or row.issue_date
        if not is_live(row) or row.id in touched or row.total < 0:
            refresh_invoice(session, session.get(Invoice, row.id, populate_existing=True), day)
            continue
        status = InvoiceStatus(invoice_status(
            total=row.total, paid=ZERO, credit=ZERO, due_date=row.due_date, today=day,
            pending=False, from_balance=ZERO).value)
        if row.amount_paid != ZERO or row.credit_applied != ZERO or row.status != status:
            changed.setdefault(status, []).append(row.id)
    table = Invoice.__table__
    for status, ids in changed.items():  # few statuses: one UPDATE per status and chunk
        for some in _in_chunks(ids):
            session.execute(update(table).where(among(table.c.id, some, session.get_bind()))
                            .values(status=status, amount_paid=ZERO, credit_applied=ZERO),
                            execution_options={"synchronize_session": False})
    session.flush()


def _touched(session: Session, ids: Sequence[int]) -> set[int]:
    """Which of the invoices ``ids`` have an allocation or a processing payment."""
    touched: set[int] = set()
    bind = session.get_bind()
    for some in _in_chunks(ids):
        touched.update(session.exec(union(
            select(Allocation.invoice_id).where(among(Allocation.invoice_id, some, bind)),
            select(Payment.invoice_id).where(among(Payment.invoice_id, some, bind),
                                             Payment.status == PaymentStatus.processing))
        ).scalars())
    return touched


def _refresh_fresh(session: Session, invoices: Sequence[Invoice], today: dt.date | None) -> None:
    """:func:`refresh_invoice` for just-posted invoices. Those with no allocation and no
    processing payment (nearly all of them) get the figures refresh_invoice would compute for
    them, without its two queries each; the others go through refresh_invoice itself."""
    touched = _touched(session, [i.id for i in invoices if is_live(i)])
    for invoice in invoices:
        day = today or invoice.issue_date
        if not is_live(invoice) or invoice.id in touched or invoice.total < 0:
            # Nothing to compute, something allocated, or refresh_invoice's own refusal.
            refresh_invoice(session, invoice, day)
            continue
        status = InvoiceStatus(invoice_status(
            total=invoice.total, paid=ZERO, credit=ZERO, due_date=invoice.due_date, today=day,
            pending=False, from_balance=ZERO).value)
        # Assigned only when they differ: a fresh invoice mostly has these values already, and
        # thousands of no-op attribute sets are not free.
        if invoice.amount_paid != ZERO:
            invoice.amount_paid = ZERO
        if invoice.credit_applied != ZERO:
            invoice.credit_applied = ZERO
        if invoice.status != status:
            invoice.status = status
        if invoice not in session:
            session.add(invoice)


def add_transaction(session: Session, organisation_id: int, *, side: str, amount: Decimal | str,
                    date: dt.date, description: str = "", invoice_id: int | None = None,
                    today: dt.date | None = None) -> Transaction:
    """A manual debit or credit on the account (e.g. an opening balance or a fee).

    A manual transaction stays when an invoice it refers to is deleted (seed 002); only a
    person removes it, with :func:`remove_transaction`. Its date may not be before 2000 nor
    more than a year after ``today`` (by default the machine's date), as a payment's.
    """
    # Always checked: a manual transaction is typed by a person (a processor's or accounting
    # system's record comes through the payment and document services instead). The callers
    # have no hub clock; a day's difference is nothing against the year the rule allows.
    today = today or dt.date.today()
    check_not_far_back(date, today, "transaction date")
    check_not_far_ahead(date, today, "transaction date")
    org = get_organisation(session, organisation_id)
    value = exact_amount(amount, org.currency, "transaction")
    if value <= 0:
        raise ValidationFailed("a transaction amount must be greater than zero",
                               hint="choose --side debit or credit for the direction")
    if side not in (Side.debit, Side.credit):
        raise ValidationFailed(f"side {side!r} is neither debit nor credit")
    tx = Transaction(organisation_id=org.id, currency=org.currency, side=Side(side),
                     category=TransactionCategory.manual, amount=value, date=date,
                     description=description, invoice_id=invoice_id)
    session.add(tx)
    session.flush()
    return tx


def add_future_item(session: Session, organisation_id: int, *, description: str,
                    amount: Decimal | str, created_on: dt.date) -> FutureItem:
    """A future item (seed 002): a debit (+) or credit (-) waiting for the next invoice, in
    the organisation's currency and whole minor units of it."""
    org = get_organisation(session, organisation_id)
    value = exact_amount(amount, org.currency, "future item")
    if value == 0:
        raise ValidationFailed("a future item of zero changes nothing",
                               hint="give a positive amount (debit) or a negative one (credit)")
    item = FutureItem(organisation_id=org.id, description=description, amount=value,
                      currency=org.currency, created_on=created_on)
    session.add(item)
    session.flush()
    return item


def remove_transaction(session: Session, transaction_id: int) -> None:
    """Remove a manual transaction that nothing is allocated to or from."""
    tx = session.get(Transaction, transaction_id)
    if tx is None:
        raise ValidationFailed(f"no transaction with id {transaction_id}")
    if tx.category != TransactionCategory.manual:
        raise DocumentRefused(
            f"transaction {tx.id} is a {tx.category} transaction and is removed with its document",
            hint="delete or credit the document it belongs to instead")
    used = session.exec(select(Allocation.id).where(
        (Allocation.source_transaction_id == tx.id) | (Allocation.target_transaction_id == tx.id))
    ).first()
    if used is not None:
        raise DocumentRefused(f"transaction {tx.id} is already paid or used",
                              hint="refund the payment that covers it first")
    session.delete(tx)
    session.flush()
