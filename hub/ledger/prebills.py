"""Pre-bills: invoice a project stage up-front, attach its WIP later (seed 003).

The pre-bill's invoice is a normal one-time invoice with one pre-bill line, posted to the
ledger and pushed to accounting like any other. Its balance is revenue (net minus credit
notes) minus the WIP attached; write-offs do not touch it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal, Sequence

from sqlmodel import Session, select

from hub.billing.numbers import take_numbers
from hub.core.ledger import prebill as rules
from hub.core.lines import price_line
from hub.core.money import Money, to_decimal
from hub.db.models.invoices import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, LineType
from hub.db.models.ledger import CreditNote, PreBill, WipEntry
from hub.errors import NotFound, ValidationFailed
from hub.ledger._base import get_organisation, push_targets, sum_decimal, write_outbox
from hub.ledger.amounts import exact_amount
from hub.ledger.posting import post_invoice
from hub.validation import parse
from hub.validation.fields import check_not_far_ahead, check_not_far_back
from hub.validation.prebills import PreBillInput, WipInput
from hub.validation.records import LineChanges

__all__ = ["create_prebill", "add_wip", "prebill_balance", "attach_options", "attach_wip",
           "close_prebill", "DEFAULT_INVOICE_FORMAT"]

DEFAULT_INVOICE_FORMAT = "{year}{partner_id|2}{next|6}"
Method = Literal["all", "range", "closest"]


def _line_description(names: PreBillInput) -> str:
    """The pre-bill line's description, refused as an added line's would be (too long)."""
    text = rules.line_description(names.project, names.stage)
    try:
        return parse(LineChanges, description=text).description
    except ValidationFailed as exc:
        raise ValidationFailed(f"the pre-bill's invoice line \"pre-bill: PROJECT / STAGE\" "
                               f"would be {len(text):,} characters long ({exc})",
                               hint="shorten the project or stage name") from None


def create_prebill(session: Session, organisation_id: int, *, project: str, stage: str,
                   stage_fee: Decimal | str, percent: Decimal | str | None = None,
                   value: Decimal | str | None = None, issue_date: dt.date, due_days: int = 14,
                   tax_rate: Decimal | str = "0", number_format: str = DEFAULT_INVOICE_FORMAT,
                   partner_id: int = 1, push_to: Sequence[str] | None = None,
                   today: dt.date | None = None) -> PreBill:
    """Pre-bill ``percent`` of the stage fee or a ``value``: a final invoice and a pre-bill
    (its date at most a year after ``today``, when given)."""
    from hub.billing.catalogue import billable_organisation  # billing imports the ledger

    # the rules the API's POST /prebills takes: names, amounts, a percentage in (0, 100]
    given = parse(PreBillInput, organisation_id=organisation_id, project=project, stage=stage,
                  stage_fee=stage_fee, percent=percent, value=value, issue_date=issue_date,
                  what="pre-bill")
    description = _line_description(given)
    check_not_far_ahead(issue_date, today, "invoice date")
    check_not_far_back(issue_date, today, "invoice date")
    org = billable_organisation(session, organisation_id)
    fee = Money(exact_amount(stage_fee, org.currency, "stage fee"), org.currency)
    amount = rules.prebill_amount(fee, percent=percent,
                                  value=Money(exact_amount(value, org.currency, "pre-bill value"),
                                              org.currency) if value is not None
                                  else None)
    priced = price_line(amount, 1, tax_rate)
    number = take_numbers(session, number_format, issue_date=issue_date, partner_id=partner_id)[0]
    invoice = Invoice(organisation_id=org.id, kind=InvoiceKind.one_time,
                      status=InvoiceStatus.unpaid, number=number, currency=org.currency,
                      issue_date=issue_date, due_date=issue_date + dt.timedelta(days=due_days),
                      subtotal=priced.amount.amount, tax_total=priced.tax.amount,
                      total=priced.gross.amount)
    session.add(invoice)
    session.flush()
    session.add(InvoiceLine(invoice_id=invoice.id, line_type=LineType.prebill,
                            description=description, quantity=Decimal(1),
                            unit_price=amount.amount, amount=priced.amount.amount,
                            tax_rate=priced.tax_rate, tax_amount=priced.tax.amount))
    post_invoice(session, invoice, today=issue_date)
    write_outbox(session, "invoice", invoice.id, push_targets(session, push_to))
    prebill = PreBill(organisation_id=org.id, invoice_id=invoice.id, project=given.project,
                      stage=given.stage, currency=org.currency, stage_fee=fee.amount,
                      percent=to_decimal(percent) if percent is not None else None,
                      amount=amount.amount)
    session.add(prebill)
    session.flush()
    return prebill


def add_wip(session: Session, organisation_id: int, *, project: str, stage: str, date: dt.date,
            value: Decimal | str, description: str = "") -> WipEntry:
    """Record a WIP transaction on a project stage (named as a pre-bill's is), checked by
    the rules the API's ``POST /wip`` takes (:class:`~hub.validation.prebills.WipInput`)."""
    wip = parse(WipInput, organisation_id=organisation_id, project=project, stage=stage,
                value=value, date=date, description=description, what="WIP")
    org = get_organisation(session, organisation_id)
    amount = exact_amount(wip.value, org.currency, "WIP value")
    if amount <= 0:
        raise ValidationFailed("WIP must be worth more than zero")
    row = WipEntry(organisation_id=org.id, project=wip.project, stage=wip.stage, date=date,
                   description=wip.description, currency=org.currency, value=amount)
    session.add(row)
    session.flush()
    return row


def _prebill(session: Session, prebill_id: int) -> PreBill:
    row = session.get(PreBill, prebill_id)
    if row is None:
        raise NotFound(f"no pre-bill with id {prebill_id}", hint="list them with `hub prebill list`")
    return row


def prebill_balance(session: Session, prebill_id: int) -> Money:
    """Revenue (net minus credit notes on its invoice) minus attached WIP; 0 once closed."""
    pb = _prebill(session, prebill_id)
    credits = sum_decimal(n.subtotal for n in session.exec(
        select(CreditNote).where(CreditNote.invoice_id == pb.invoice_id)))
    attached = sum_decimal(w.billed_value or Decimal(0) for w in session.exec(
        select(WipEntry).where(WipEntry.prebill_id == pb.id)))
    return rules.prebill_balance(Money(pb.amount, pb.currency),
                                 credits=Money(credits, pb.currency),
                                 attached=Money(attached, pb.currency),
                                 closed=pb.closed_at is not None)


def _unattached(session: Session, pb: PreBill) -> list[WipEntry]:
    return list(session.exec(select(WipEntry).where(
        WipEntry.organisation_id == pb.organisation_id, WipEntry.project == pb.project,
        WipEntry.stage == pb.stage, WipEntry.prebill_id.is_(None))))


def _selection(session: Session, pb: PreBill, method: Method, start: dt.date | None,
               end: dt.date | None, use: str | None) -> tuple[list[rules.Wip], Money]:
    if pb.closed_at is not None:
        raise ValidationFailed(f"pre-bill {pb.id} is closed")
    balance = prebill_balance(session, pb.id)
    wip = [rules.Wip(w.id, w.date, Money(w.value, w.currency)) for w in _unattached(session, pb)]
    if not wip:
        raise ValidationFailed(f"stage {pb.stage!r} of {pb.project!r} has no WIP to attach")
    if method == "all":
        return rules.select_all(wip), balance
    if method == "range":
        return rules.select_range(wip, start, end), balance
    if method == "closest":
        runs = rules.closest_runs(wip, balance)
        if use is None:
            return [], balance
        if use not in runs:
            raise ValidationFailed(f"'{use}' is not offered by 'closest'",
                                   hint=f"choose one of: {', '.join(sorted(runs))}")
        return runs[use], balance
    raise ValidationFailed(f"unknown method {method!r}", hint="use all, range or closest")


def attach_options(session: Session, prebill_id: int, method: Method = "all", *,
                   start: dt.date | None = None, end: dt.date | None = None) -> list[rules.Option]:
    """The options offered for attaching WIP to the pre-bill by ``method``."""
    pb = _prebill(session, prebill_id)
    if method == "closest":
        _, balance = _selection(session, pb, method, start, end, None)
        wip = [rules.Wip(w.id, w.date, Money(w.value, w.currency)) for w in _unattached(session, pb)]
        runs = rules.closest_runs(wip, balance)
        return [o for use, run in sorted(runs.items())
                for o in rules.options_for(run, balance) if o.use == use]
    selection, balance = _selection(session, pb, method, start, end, None)
    return rules.options_for(selection, balance)


def attach_wip(session: Session, prebill_id: int, method: Method, use: rules.Use, *,
               start: dt.date | None = None, end: dt.date | None = None,
               close: bool | None = None, when: dt.datetime) -> rules.Attachment:
    """Attach WIP chosen by ``method`` using markup, markdown or exact (see seed 003)."""
    pb = _prebill(session, prebill_id)
    selection, balance = _selection(session, pb, method, start, end, use)
    result = rules.attach(selection, balance, use, close=close)
    for key, billed in result.billed:
        row = session.get(WipEntry, key)
        row.prebill_id, row.billed_value, row.attached_use, row.attached_at = (
            pb.id, billed.amount, use, when)
        session.add(row)
    if result.closed:
        pb.closed_at = when
        session.add(pb)
    session.flush()
    return result


def close_prebill(session: Session, prebill_id: int, *, when: dt.datetime) -> PreBill:
    """Close a pre-bill that still has a balance (seed 003: "close this balance later")."""
    pb = _prebill(session, prebill_id)
    if pb.closed_at is not None:
        raise ValidationFailed(f"pre-bill {pb.id} is already closed")
    pb.closed_at = when
    session.add(pb)
    session.flush()
    return pb
