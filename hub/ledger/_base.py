"""Shared helpers of the ledger services: loading, the account's open items and free credit,
recomputing an invoice's figures and status, and outbox rows.

Definitions used throughout:

- a **live invoice** is posted (not draft, not proforma) and not deleted; its auto debit
  transaction carries its total;
- an **open debit** is a debit transaction that is not an invoice's auto debit (manual debits,
  refunds), with what is not yet allocated to it outstanding;
- **free credit** is the unallocated part of credit transactions (payments, credit notes,
  manual credits): the account credit.
"""

from __future__ import annotations

import datetime as dt
import re
from contextlib import contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from sqlmodel import Session, select

from hub.core.ledger.statuses import check_not_deleted, invoice_status
from hub.core.money import Money
from hub.db.models.catalogue import Organisation
from hub.db.models.invoices import Invoice, InvoiceKind, InvoiceStatus
from hub.db.models.ledger import (
    Allocation, AllocationKind, Payment, PaymentStatus, Side, Transaction, TransactionCategory,
)
from hub.db.models.sync import Effect, OutboxEntry
from hub.errors import NotFound, ValidationFailed
from hub.validation.fields import MAX_ID

if TYPE_CHECKING:
    from hub.host.context import HubContext

__all__ = ["PUSH_TO", "accounting_connections", "ledger_session", "push_targets", "get_invoice",
           "get_organisation", "ORGANISATION_HINT", "lock_account", "find_invoice",
           "find_by_reference", "ID_PREFIX",
           "money", "is_live", "payable_invoice", "finalise_hint", "refresh_invoice", "open_debits",
           "free_credits", "live_invoices_due", "balance", "write_outbox", "sum_decimal"]

#: ``session.info`` key holding the accounting connections payments and credit notes go to.
PUSH_TO = "hub.ledger.push_to"
ZERO = Decimal(0)


def accounting_connections(ctx: "HubContext") -> list[str]:
    """Names of the enabled connections whose plugin has the 'accounting' capability."""
    return [c.name for c in ctx.connections("accounting")]


@contextmanager
def ledger_session(ctx: "HubContext") -> Iterator[Session]:
    """One transaction for one ledger request, knowing where finalised documents are pushed."""
    from hub.db.engine import session_scope

    targets = accounting_connections(ctx)
    with session_scope(ctx.engine) as session:
        session.info[PUSH_TO] = targets
        yield session


def push_targets(session: Session, push_to: Sequence[str] | None) -> list[str]:
    """``push_to`` if given, else what :func:`ledger_session` put on the session."""
    if push_to is not None:
        return list(push_to)
    return list(session.info.get(PUSH_TO, ()))


def write_outbox(session: Session, kind: str, document_id: int, targets: Sequence[str]) -> None:
    """One "push" outbox row per accounting connection, in the caller's transaction."""
    for name in targets:
        exists = session.exec(select(OutboxEntry.id).where(
            OutboxEntry.effect == Effect.push, OutboxEntry.document_kind == kind,
            OutboxEntry.document_id == document_id, OutboxEntry.connection == name,
            OutboxEntry.generation == 0)).first()
        if exists is None:
            session.add(OutboxEntry(effect=Effect.push, document_kind=kind,
                                    document_id=document_id, connection=name))


def money(value: Decimal, currency: str) -> Money:
    """A stored amount as Money."""
    return Money(value, currency)


def sum_decimal(values) -> Decimal:
    """Exact sum (``sum`` of an empty list is the int 0)."""
    total = ZERO
    for v in values:
        total += v
    return total


def get_invoice(session: Session, invoice_id: int) -> Invoice:
    """The invoice, or a clear NotFound."""
    invoice = session.get(Invoice, invoice_id)
    if invoice is None:
        raise NotFound(f"no invoice with id {invoice_id}", hint="list invoices with `hub invoice list`")
    return invoice


#: How a reference names a document by its id when its number could be read as one: ``id:5``.
ID_PREFIX = "id:"

_DIGITS = re.compile(r"[0-9]+")  # ASCII only: str.isdigit() takes "²", which int() refuses


def find_by_reference(session: Session, model: type, ref: str | int, what: str,
                      list_hint: str) -> Any:
    """The ``model`` row (an invoice or a credit note) that ``ref`` names: its number, or else
    its id; ``id:5`` always means the id. Numbers are often all digits, so a bare ``5`` can be
    one document's number and another's id: that is refused, naming both, rather than guessed
    (a payment recorded against the wrong invoice is worse than a question)."""
    text = str(ref)
    if text[:len(ID_PREFIX)].lower() == ID_PREFIX:
        wanted = text[len(ID_PREFIX):].strip()
        if not _DIGITS.fullmatch(wanted):
            raise ValidationFailed(f"{text!r} is not an id reference",
                                   hint=f"write {ID_PREFIX} and the {what}'s id, e.g. "
                                        f"{ID_PREFIX}5")
        row = session.get(model, int(wanted)) if int(wanted) <= MAX_ID else None
        if row is None:
            raise NotFound(f"no {what} with id {wanted}", hint=list_hint)
        return row
    by_number = session.exec(select(model).where(model.number == text)).first()
    by_id = None
    if _DIGITS.fullmatch(text) and int(text) <= MAX_ID:
        by_id = session.get(model, int(text))
    if by_number is not None and by_id is not None and by_number.id != by_id.id:
        raise ValidationFailed(
            f"{text!r} is ambiguous: {what} number {by_number.number} (id {by_number.id}) or "
            f"{what} id {by_id.id} (number {by_id.number or 'none yet'})",
            hint=f"write {ID_PREFIX}{by_number.id} for the first or {ID_PREFIX}{by_id.id} "
                 f"for the second")
    row = by_number or by_id
    if row is None:
        raise NotFound(f"no {what} with number or id {text}", hint=list_hint)
    return row


def find_invoice(session: Session, ref: str | int) -> Invoice:
    """An invoice by number, or else by id; ``id:5`` is always the id, and a bare reference
    that is one invoice's number and another's id is refused (see
    :func:`find_by_reference`)."""
    return find_by_reference(session, Invoice, ref, "invoice",
                             "list invoices and their ids with `hub invoice list`")


#: What to do when an organisation id names none.
ORGANISATION_HINT = "list organisations and their ids with `hub org list`"


def lock_account(session: Session, organisation_id: int) -> Organisation:
    """Take the organisation's row lock (``SELECT ... FOR NO KEY UPDATE`` on PostgreSQL) so
    that ledger changes to one account run one at a time: two payments racing for the same
    invoice cannot both see it unpaid. SQLite's write lock (``BEGIN IMMEDIATE``) already
    serialises. Not ``FOR UPDATE``: that also waits for the key-share locks of inserts that
    refer to the organisation (a batch confirm holding the number counter posts its invoices),
    and the two would deadlock over the counter."""
    org = session.exec(select(Organisation).where(Organisation.id == organisation_id)
                       .with_for_update(key_share=True)).first()
    if org is None:
        raise NotFound(f"no organisation with id {organisation_id}", hint=ORGANISATION_HINT)
    return org


def get_organisation(session: Session, organisation_id: int) -> Organisation:
    """The organisation, or a clear NotFound."""
    org = session.get(Organisation, organisation_id)
    if org is None:
        raise NotFound(f"no organisation with id {organisation_id}", hint=ORGANISATION_HINT)
    return org


def is_live(invoice: Invoice) -> bool:
    """Posted to the ledger and not deleted."""
    return (invoice.status not in (InvoiceStatus.draft, InvoiceStatus.deleted)
            and invoice.kind != InvoiceKind.proforma and invoice.deleted_at is None)


def _allocated_to_invoice(session: Session, invoice_id: int) -> dict[AllocationKind, Decimal]:
    # Summed in Python: SQLite keeps amounts as exact text, so SQL SUM would turn them to floats.
    result: dict[AllocationKind, Decimal] = {}
    for alloc in session.exec(select(Allocation).where(Allocation.invoice_id == invoice_id)):
        result[alloc.kind] = result.get(alloc.kind, ZERO) + alloc.amount
    return result


def refresh_invoice(session: Session, invoice: Invoice, today: dt.date) -> InvoiceStatus:
    """Recompute amount paid, credit applied and status from the allocations; returns the
    status it had before."""
    before = invoice.status
    if not is_live(invoice):
        return before
    amounts = _allocated_to_invoice(session, invoice.id)
    invoice.amount_paid = amounts.get(AllocationKind.payment, ZERO)
    from_balance = amounts.get(AllocationKind.balance, ZERO)
    invoice.credit_applied = amounts.get(AllocationKind.credit_note, ZERO) + from_balance
    if invoice.amount_paid + invoice.credit_applied > invoice.total:
        raise ValidationFailed(f"invoice {invoice.number} would be overpaid",
                               hint="the excess belongs on the account as credit")
    pending = session.exec(select(Payment.id).where(
        Payment.invoice_id == invoice.id, Payment.status == PaymentStatus.processing)).first()
    invoice.status = InvoiceStatus(invoice_status(
        total=invoice.total, paid=invoice.amount_paid, credit=invoice.credit_applied,
        due_date=invoice.due_date, today=today, pending=pending is not None,
        from_balance=from_balance).value)
    session.add(invoice)
    return before


def _allocated_from(session: Session, tx_ids: list[int]) -> dict[int, Decimal]:
    out: dict[int, Decimal] = {}
    if tx_ids:
        for a in session.exec(select(Allocation).where(Allocation.source_transaction_id.in_(tx_ids))):
            out[a.source_transaction_id] = out.get(a.source_transaction_id, ZERO) + a.amount
    return out


def _allocated_to(session: Session, tx_ids: list[int]) -> dict[int, Decimal]:
    out: dict[int, Decimal] = {}
    if tx_ids:
        for a in session.exec(select(Allocation).where(Allocation.target_transaction_id.in_(tx_ids))):
            out[a.target_transaction_id] = out.get(a.target_transaction_id, ZERO) + a.amount
    return out


def open_debits(session: Session, organisation_id: int) -> list[tuple[Transaction, Decimal]]:
    """Debit transactions other than invoices' auto debits, with what is still outstanding."""
    txs = list(session.exec(select(Transaction).where(
        Transaction.organisation_id == organisation_id, Transaction.side == Side.debit,
        Transaction.category != TransactionCategory.auto).order_by(Transaction.date, Transaction.id)))
    paid = _allocated_to(session, [t.id for t in txs])
    return [(t, t.amount - paid.get(t.id, ZERO)) for t in txs]


def free_credits(session: Session, organisation_id: int) -> list[tuple[Transaction, Decimal]]:
    """Credit transactions with their unallocated part (the account credit), oldest first."""
    txs = list(session.exec(select(Transaction).where(
        Transaction.organisation_id == organisation_id, Transaction.side == Side.credit)
        .order_by(Transaction.date, Transaction.id)))
    used = _allocated_from(session, [t.id for t in txs])
    return [(t, t.amount - used.get(t.id, ZERO)) for t in txs]


def live_invoices_due(session: Session, organisation_id: int) -> list[Invoice]:
    """Live invoices of the organisation, oldest first."""
    rows = session.exec(select(Invoice).where(Invoice.organisation_id == organisation_id)
                        .order_by(Invoice.issue_date, Invoice.id))
    return [i for i in rows if is_live(i)]


def balance(session: Session, organisation_id: int) -> Decimal:
    """Credits minus debits: positive is money on account, negative is money owed."""
    total = ZERO
    for tx in session.exec(select(Transaction).where(Transaction.organisation_id == organisation_id)):
        total += tx.amount if tx.side == Side.credit else -tx.amount
    return total


def payable_invoice(session: Session, invoice_id: int) -> Invoice:
    """The invoice, if it can be paid: not deleted and final (a draft's refusal says how it
    becomes final)."""
    invoice = get_invoice(session, invoice_id)
    check_not_deleted(invoice.status, f"invoice {invoice.number}")
    if not is_live(invoice):
        raise ValidationFailed(f"invoice {invoice.number or invoice.id} is a draft, not final, so "
                               "it cannot be paid", hint=finalise_hint(invoice))
    return invoice


def finalise_hint(draft: Invoice) -> str:
    """How ``draft`` becomes payable: by its batch, by finalising it, or (a proforma, which is
    never final) by converting it."""
    if draft.batch_id is not None:
        return f"confirm its billing batch first: `hub bill confirm {draft.batch_id}`"
    if draft.kind == InvoiceKind.proforma:
        return (f"a proforma is never paid; convert it to an invoice first: "
                f"`hub invoice convert-proforma {draft.id}`")
    return f"finalise the invoice first: `hub invoice finalise {draft.id}`"
