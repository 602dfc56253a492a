"""Credit notes: the lawful way to correct an invoice (seed 002), including a locked one.

A credit note is against an invoice (whole, or chosen lines/amounts) or standalone. Its credit
is a ``-Credit`` transaction on the account; it is applied to the invoice it corrects (up to
what is due there) and the rest stays as account credit, which :func:`apply_credit_note` can
later apply to any invoice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Sequence

from sqlmodel import Session, select

from hub import audit
from hub.billing.numbers import take_numbers
from hub.core.ledger.statuses import check_not_deleted
from hub.core.lines import price_line, totals
from hub.core.money import Money, quantum, shown, to_decimal
from hub.db.models.invoices import Invoice, InvoiceLine
from hub.db.models.ledger import (
    AllocationKind, CreditNote, CreditNoteLine, Side, Transaction, TransactionCategory,
)
from hub.errors import NotFound, ValidationFailed
from hub.ledger.accounts import links_of_credit_note
from hub.ledger.amounts import exact_amount
from hub.ledger._base import (
    ZERO, find_by_reference, free_credits, get_invoice, is_live, lock_account, money, push_targets,
    refresh_invoice, sum_decimal, write_outbox,
)
from hub.ledger.payments import write_allocations
from hub.validation.fields import (
    REASON_LENGTH, check_length, check_name, check_not_far_ahead, check_not_far_back,
)

__all__ = ["CreditLine", "create_credit_note", "apply_credit_note", "find_credit_note",
           "credit_note_view",
           "credit_note_transaction",
           "DEFAULT_CREDIT_NOTE_FORMAT"]

DEFAULT_CREDIT_NOTE_FORMAT = "CN{year}{next|6}"


@dataclass(frozen=True)
class CreditLine:
    """One line to credit; ``tax_rate`` is a percentage like invoice lines."""

    description: str
    unit_price: Decimal | str
    quantity: Decimal | str = "1"
    tax_rate: Decimal | str = "0"
    invoice_line_id: int | None = None


def credit_note_transaction(session: Session, credit_note_id: int) -> Transaction:
    """The credit transaction a credit note put on the account."""
    return session.exec(select(Transaction).where(
        Transaction.credit_note_id == credit_note_id)).one()


def _credited_so_far(session: Session, invoice_id: int) -> Decimal:
    return sum_decimal(cn.total for cn in session.exec(
        select(CreditNote).where(CreditNote.invoice_id == invoice_id)))


def _whole_invoice_lines(session: Session, invoice: Invoice) -> list[CreditLine]:
    lines = session.exec(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)
                         .order_by(InvoiceLine.position, InvoiceLine.id)).all()
    if not lines:
        return [CreditLine(f"credit for invoice {invoice.number}", invoice.subtotal,
                           tax_rate=(invoice.tax_total * 100 / invoice.subtotal)
                           if invoice.subtotal else "0")]
    return [CreditLine(l.description, l.unit_price, l.quantity, l.tax_rate, l.id) for l in lines]


def _check_credited_lines(session: Session, invoice: Invoice | None,
                          lines: Sequence[CreditLine]) -> None:
    """A line that names the invoice line it credits names one of the credited invoice's
    lines: another invoice's line (another customer's, even) would be linked to this note."""
    named = {line.invoice_line_id for line in lines if line.invoice_line_id is not None}
    if not named:
        return
    if invoice is None:
        raise ValidationFailed("a line that credits an invoice line needs the invoice",
                               hint="give the invoice the line is on (invoice_id / --invoice)")
    own = set(session.exec(select(InvoiceLine.id).where(InvoiceLine.invoice_id == invoice.id,
                                                        InvoiceLine.id.in_(named))).all())
    if named - own:
        strangers = ", ".join(map(str, sorted(named - own)))
        raise ValidationFailed(f"invoice line(s) {strangers} are not on invoice "
                               f"{invoice.number}",
                               hint=f"credit lines of invoice {invoice.number} only; see "
                                    f"`hub invoice show {invoice.id}`")


def _check_one_way(whole: bool, percent: object, lines: Sequence[CreditLine]) -> None:
    """Refuse a credit note asked for in two ways at once (whole and a percentage, or either
    with lines): which one was meant is not known."""
    ways = [name for name, given in (("whole", whole), ("percent", percent is not None),
                                     ("lines", bool(lines))) if given]
    if len(ways) > 1:
        raise ValidationFailed(
            f"a credit note is the whole invoice, a percentage of it or given lines, not "
            f"{' and '.join(ways)} together",
            hint="give only one of whole (--whole), percent (--percent) or lines (--line)")


def create_credit_note(session: Session, *, organisation_id: int | None = None,
                       invoice_id: int | None = None, lines: Sequence[CreditLine] = (),
                       whole: bool = False, percent: Decimal | str | None = None,
                       date: dt.date, today: dt.date | None = None, reason: str = "",
                       apply: bool = True, number_format: str = DEFAULT_CREDIT_NOTE_FORMAT,
                       partner_id: int = 1, push_to: Sequence[str] | None = None) -> CreditNote:
    """Create a credit note and, when it is against an invoice and ``apply`` is true, apply it
    there (up to the amount due); the rest is account credit.

    ``whole`` credits every line of the invoice; ``percent`` credits that share of its total;
    one of ``whole``, ``percent`` and ``lines`` is given, never two (neither silently wins).
    """
    check_length(reason, "credit note reason", REASON_LENGTH)
    _check_one_way(whole, percent, lines)
    # the same bounds as an invoice line's description: it is printed and pushed like one
    lines = [replace(l, description=check_name(l.description, "credit note line description"))
             for l in lines]
    check_not_far_ahead(date, today, "credit note date")
    check_not_far_back(date, today, "credit note date")
    invoice = None
    if invoice_id is not None:
        invoice = get_invoice(session, invoice_id)
        check_not_deleted(invoice.status, f"invoice {invoice.number}")
        if not is_live(invoice):
            raise ValidationFailed(f"invoice {invoice.id} is not final; edit the draft instead")
        if organisation_id is not None and organisation_id != invoice.organisation_id:
            raise ValidationFailed(f"invoice {invoice.number} belongs to another organisation")
        organisation_id = invoice.organisation_id
    if organisation_id is None:
        raise ValidationFailed("a credit note needs an organisation or an invoice")
    org = lock_account(session, organisation_id)
    currency = invoice.currency if invoice else org.currency
    if whole or percent is not None:
        if invoice is None:
            raise ValidationFailed("--whole and --percent credit an invoice; give --invoice")
        lines = _whole_invoice_lines(session, invoice)
    if not lines:
        raise ValidationFailed("a credit note needs at least one line",
                               hint="give lines, --whole or --percent")
    _check_credited_lines(session, invoice, lines)
    priced = [price_line(Money(to_decimal(l.unit_price), currency), l.quantity, l.tax_rate)
              for l in lines]
    if percent is not None:
        from hub.validation.fields import parse_decimal  # the API's rule for numbers

        try:
            share = parse_decimal(percent)
        except ValueError as exc:
            raise ValidationFailed(f"percent: {exc}",
                                   hint="give a share between 0 and 100") from None
        if not Decimal(0) < share <= Decimal(100):
            raise ValidationFailed(f"cannot credit {share}% of the invoice: the percentage must "
                                   "be more than 0 and at most 100",
                                   hint="give e.g. 50 to credit half of it, or 100 (--whole) "
                                        "to credit all of it")
        priced = [price_line((p.amount * share / 100).rounded(), 1, p.tax_rate) for p in priced]
    sums = totals(((p.amount, p.tax) for p in priced), currency)
    if sums.total.amount <= 0:
        raise ValidationFailed("a credit note total must be greater than zero")
    if invoice is not None:
        room = invoice.total - _credited_so_far(session, invoice.id)
        if sums.total.amount > room:
            raise ValidationFailed(
                f"credit of {sums.total} is more than the {money(room, currency)} of invoice "
                f"{invoice.number} not yet credited", hint="credit at most what was invoiced")
    number = take_numbers(session, number_format, issue_date=date, partner_id=partner_id)[0]
    note = CreditNote(organisation_id=org.id, number=number, currency=currency,
                      invoice_id=invoice.id if invoice else None, date=date, reason=reason,
                      subtotal=sums.subtotal.amount, tax_total=sums.tax.amount,
                      total=sums.total.amount)
    session.add(note)
    session.flush()
    for line, p in zip(lines, priced):
        session.add(CreditNoteLine(credit_note_id=note.id, invoice_line_id=line.invoice_line_id,
                                   description=line.description, quantity=p.quantity,
                                   unit_price=p.unit_price.amount, amount=p.amount.amount,
                                   tax_rate=p.tax_rate, tax_amount=p.tax.amount))
    tx = Transaction(organisation_id=org.id, currency=currency, side=Side.credit,
                     category=TransactionCategory.credit_note, amount=note.total, date=date,
                     credit_note_id=note.id, invoice_id=note.invoice_id,
                     description=f"credit note {number}")
    session.add(tx)
    session.flush()
    if invoice is not None and apply and invoice.amount_due > 0:
        part = min(invoice.amount_due, note.total)
        write_allocations(session, tx, AllocationKind.credit_note,
                          [(("inv", invoice.id), money(part, currency))], credit_note_id=note.id)
        refresh_invoice(session, invoice, today or date)
    write_outbox(session, "credit_note", note.id, push_targets(session, push_to))
    audit.record(session, "credit_note.created", "credit_note", note.id,
                 summary=f"credit note {number}: {shown(note.total, currency)}"
                         + (f" against invoice {note.invoice_id}" if note.invoice_id else ""))
    if note.invoice_id is not None:
        audit.record(session, "invoice.credited", "invoice", note.invoice_id,
                     summary=f"credit note {number}: {shown(note.total, currency)}")
    return note


def find_credit_note(session: Session, ref: str | int) -> CreditNote:
    """A credit note by number, or else by id, so every command takes what the documents
    print; ``id:5`` is always the id, and a bare reference that is one credit note's number
    and another's id is refused, as for invoices (:func:`~hub.ledger._base.find_by_reference`)."""
    return find_by_reference(session, CreditNote, ref, "credit note",
                             "list credit notes and their ids with `hub credit-note list`")


def credit_note_view(session: Session, note: CreditNote) -> dict[str, Any]:
    """A credit note as the CLI and the API show it: its fields, lines, unapplied credit and
    links (the invoice it corrects, the invoices it was applied to)."""
    tx = credit_note_transaction(session, note.id)
    left = dict((t.id, rest) for t, rest in free_credits(session, note.organisation_id))
    lines = session.exec(select(CreditNoteLine).where(CreditNoteLine.credit_note_id == note.id)
                         .order_by(CreditNoteLine.id)).all()
    return {**note.model_dump(mode="json"), "unapplied": str(left.get(tx.id, ZERO)),
            "lines": [line.model_dump(mode="json", exclude={"credit_note_id"}) for line in lines],
            "links": links_of_credit_note(session, note.id)}


def _apply_refused(note: CreditNote, invoice: Invoice, left: Decimal) -> ValidationFailed:
    """Why an amount cannot be applied: nothing left on either side, or the range allowed, in
    the currency's minor unit (never "between 0 and 0.0000")."""
    hint = "a credit note applies at most its unapplied credit and the invoice's amount due"
    if left <= 0:
        return ValidationFailed(f"nothing is left to apply of credit note {note.number}",
                                hint="it is applied in full already")
    if invoice.amount_due <= 0:
        return ValidationFailed(f"invoice {invoice.number} has nothing due", hint=hint)
    return ValidationFailed(
        f"can apply between {shown(quantum(note.currency), note.currency)} and "
        f"{shown(min(left, invoice.amount_due), note.currency)} of credit note {note.number} "
        f"to invoice {invoice.number}", hint=hint)


def apply_credit_note(session: Session, credit_note_id: int, invoice_id: int,
                      amount: Decimal | str | None = None, *, today: dt.date) -> Invoice:
    """Apply the unapplied part of a credit note to an invoice of the same organisation."""
    note = session.get(CreditNote, credit_note_id)
    if note is None:
        raise NotFound(f"no credit note with id {credit_note_id}")
    invoice = get_invoice(session, invoice_id)
    check_not_deleted(invoice.status, f"invoice {invoice.number}")
    if invoice.organisation_id != note.organisation_id or not is_live(invoice):
        raise ValidationFailed(f"credit note {note.number} cannot be applied to invoice "
                               f"{invoice.number or invoice.id}",
                               hint="apply it to a final invoice of the same organisation")
    lock_account(session, note.organisation_id)
    tx = credit_note_transaction(session, note.id)
    left = dict((t.id, rest) for t, rest in free_credits(session, note.organisation_id)).get(tx.id, ZERO)
    wanted = exact_amount(amount, note.currency) if amount is not None else \
        min(left, invoice.amount_due)
    if wanted <= 0 or wanted > left or wanted > invoice.amount_due:
        raise _apply_refused(note, invoice, left)
    write_allocations(session, tx, AllocationKind.credit_note,
                      [(("inv", invoice.id), money(wanted, note.currency))], credit_note_id=note.id)
    refresh_invoice(session, invoice, today)
    return invoice
