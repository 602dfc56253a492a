"""Billing contracts and cycles (seed 004): generate one contract's invoice for a chosen cycle
(the next un-invoiced one preselected), or many contracts at once; replacing an invoiced cycle
makes a new invoice and leaves the old one alone; post-invoicing tasks only when asked.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Sequence

from sqlmodel import Session, select

from hub.host.context import HubContext
from hub.billing.catalogue import billable_organisation, get_or_404
from hub.billing.counters import Counter
from hub.billing.drafts import Draft
from hub.billing.finalise import finalise_invoices
from hub.billing.loading import due_for_cycles
from hub.billing.recurring import check_agreement_date
from hub.billing.runs import build_drafts
from hub.billing.store import store_drafts
from hub.db.engine import session_scope
from hub.core.contracts import (
    CycleChoice, CycleRef, anchored_cycles, build_cycles, choose_cycle,
)
from hub.core.periods import Cadence, Frequency, Period
from hub.db.models import BillingContract, BillingCycle, Invoice, InvoiceLine
from hub.errors import EditNotAllowed, HubError, ValidationFailed
from hub.validation import parse
from hub.validation.records import ContractInput

__all__ = ["create_contract", "cycles_of", "preselected_cycle", "invoice_contract",
           "draft_contract_invoice", "store_contract_invoice", "previewed", "invoice_many",
           "ContractDraft", "ContractInvoiced"]

_HINT = "list contracts with `hub contract list`"


@dataclass
class ContractInvoiced:
    """The outcome of generating one contract's invoice: the invoice (unsaved in a preview)
    and its components (the lines, with quantities, prices and pro-rata), or for a contract
    that could not be invoiced in a bulk run, the ``error`` saying why."""

    contract_id: int
    cycle_number: int | None
    invoice: Invoice | None
    replaced_invoice_id: int | None
    preview: bool
    lines: list[dict] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the contract was invoiced (or, in a preview, would be)."""
        return self.error is None


def create_contract(session: Session, organisation_id: int, name: str, start_date: dt.date, *,
                    cycles: int = 12, frequency: str = "monthly", interval: int = 1,
                    billing_day: int | None = None, auto_charge: bool = False,
                    auto_sync: bool = True, auto_send: bool = False,
                    refund_policy: str = "", today: dt.date | None = None
                    ) -> BillingContract:
    """A billing contract and its first ``cycles`` billing cycles. A start before 2000 or
    more than a year after ``today`` is refused as a typo
    (:func:`~hub.billing.recurring.check_agreement_date`); the cycles may run on for years."""
    given = parse(ContractInput, organisation_id=organisation_id, name=name,
                  start_date=start_date, cycles=cycles, frequency=frequency, interval=interval,
                  billing_day=billing_day, auto_charge=auto_charge, auto_sync=auto_sync,
                  auto_send=auto_send, refund_policy=refund_policy)
    check_agreement_date(given.start_date, "contract start", today, ahead=False)
    org = billable_organisation(session, given.organisation_id)
    name, frequency = given.name, given.frequency.value
    try:
        cadence = Cadence(Frequency(frequency), interval,
                          billing_day or min(start_date.day, 28), start_date)
    except ValueError as exc:
        raise ValidationFailed(str(exc), hint="frequencies: " + ", ".join(Frequency)) from None
    # Without a billing day of its own the contract is anchored on its start day (the 31st
    # stays the 31st where the month has one); a billing day that differs makes a pro-rata
    # first cycle up to the first billing day.
    anchored = billing_day is None or billing_day == start_date.day
    try:  # the cycles first: a start near 9999 has no room for them, and nothing is stored
        periods = anchored_cycles(cadence, start_date, cycles) if anchored else \
            build_cycles(cadence, start_date, cycles)
    except (OverflowError, ValueError):
        raise ValidationFailed(f"start {start_date} with {cycles} {frequency} cycle(s) runs past "
                               f"{dt.date.max}", hint="give an earlier start or fewer cycles"
                               ) from None
    # After the cycles: a start near 9999 is refused for leaving them no room, which says more.
    check_agreement_date(given.start_date, "contract start", today)
    contract = BillingContract(organisation_id=org.id, name=name, frequency=frequency,
                               interval=interval, billing_day=cadence.billing_day,
                               start_date=start_date, auto_charge=auto_charge,
                               auto_sync=auto_sync, auto_send=auto_send,
                               refund_policy=refund_policy)
    session.add(contract)
    session.flush()
    for number, period in enumerate(periods, start=1):
        session.add(BillingCycle(contract_id=contract.id, number=number, start=period.start,
                                 end=period.end))
    session.flush()
    return contract


def cycles_of(session: Session, contract_id: int) -> list[BillingCycle]:
    """The contract's cycles in order."""
    get_or_404(session, BillingContract, contract_id, "billing contract", _HINT)
    return list(session.exec(select(BillingCycle).where(BillingCycle.contract_id == contract_id)
                             .order_by(BillingCycle.number)).all())


def _refs(cycles: Sequence[BillingCycle]) -> list[CycleRef]:
    return [CycleRef(c.number, Period(c.start, c.end), c.invoice_id) for c in cycles]


def preselected_cycle(session: Session, contract_id: int) -> BillingCycle | None:
    """The cycle offered by default: the next un-invoiced one."""
    cycles = cycles_of(session, contract_id)
    pending = [c for c in cycles if c.invoice_id is None]
    return pending[0] if pending else None


@dataclass
class ContractDraft:
    """One cycle's invoice worked out and not yet stored (:func:`draft_contract_invoice`)."""

    contract_id: int
    organisation_id: int
    cycle: BillingCycle
    replaced_invoice_id: int | None
    drafts: list[Draft]


def invoice_contract(ctx: HubContext, contract_id: int, *, cycle: int | None = None,
                     replace: bool = False, post_tasks: bool = False, preview: bool = False,
                     issue_date: dt.date | None = None) -> ContractInvoiced:
    """Generate (or with ``preview`` only show) the invoice of one cycle.

    The invoice is final at once (numbered, in the ledger). Automations — charge, sync, send,
    as enabled on the contract — run only with ``post_tasks`` (seed 004). Uses its own
    transactions: none is open while the counter hooks run. The two steps,
    :func:`draft_contract_invoice` and :func:`store_contract_invoice`, are for a caller that
    stores something with the invoice in its transaction (the API's idempotency key).
    """
    draft = draft_contract_invoice(ctx, contract_id, cycle=cycle, replace=replace,
                                   issue_date=issue_date)
    if preview:
        return previewed(draft)
    with session_scope(ctx.engine) as session:
        return store_contract_invoice(ctx, session, draft, post_tasks=post_tasks)


def draft_contract_invoice(ctx: HubContext, contract_id: int, *, cycle: int | None = None,
                           replace: bool = False, issue_date: dt.date | None = None
                           ) -> ContractDraft:
    """The invoice of one cycle (the next un-invoiced one by default), worked out and not
    stored: the cycle is chosen and checked in a transaction, then the counter hooks run with
    none open."""
    with session_scope(ctx.engine) as session:
        rows = cycles_of(session, contract_id)
        choice: CycleChoice = choose_cycle(_refs(rows), cycle, replace=replace)
        row = next(c for c in rows if c.number == choice.cycle.number)
        contract = session.get(BillingContract, contract_id)
        if row.invoice_id is None:  # a replacement corrects what was billed: allowed
            billable_organisation(session, contract.organisation_id)
        if row.invoice_id is None and not contract.active:
            # An ended contract invoices no further cycle (end_contract); an invoiced one may
            # still be replaced, to correct it.
            raise EditNotAllowed(f"billing contract {contract_id} has ended: cycle "
                                 f"{row.number} is not invoiced",
                                 hint="to correct an invoiced cycle, pass it with --replace; "
                                      "to bill on, make a new contract")
        replace_map = {row.id: choice.replaces_invoice_id} if choice.replaces_invoice_id else {}
        dues = due_for_cycles(session, [row], issue_date or ctx.today(),
                              ctx.settings.company.payment_due_days, replace=replace_map)
        organisation_id = contract.organisation_id
    drafts = build_drafts(dues, Counter(ctx.plugins.pm, ctx.connections(), ctx.engine),
                          ctx.clock(), ctx.settings.billing.tax_rounding)
    return ContractDraft(contract_id, organisation_id, row, choice.replaces_invoice_id, drafts)


def previewed(draft: ContractDraft) -> ContractInvoiced:
    """What storing ``draft`` would make: the invoice (unsaved) and its components."""
    return ContractInvoiced(draft.contract_id, draft.cycle.number,
                            Invoice(**draft.drafts[0].invoice), draft.replaced_invoice_id, True,
                            lines=list(draft.drafts[0].lines))


def store_contract_invoice(ctx: HubContext, session: Session, draft: ContractDraft, *,
                           post_tasks: bool = False) -> ContractInvoiced:
    """Store and finalise ``draft``'s invoice in ``session``'s transaction (the cycle is
    refused if another request has invoiced it meanwhile)."""
    if draft.cycle.invoice_id is None:
        # again, in the transaction that makes the invoice: a retirement committed while
        # the counters ran is seen, and one under way waits (the row lock is held)
        billable_organisation(session, draft.organisation_id)
    ids, skipped = store_drafts(session, None, draft.drafts)
    if not ids:
        raise ValidationFailed(f"cycle {draft.cycle.number} is already invoiced or being "
                               f"invoiced ({skipped[0][2]})",
                               hint="confirm or discard that batch, or pass --replace")
    invoice = session.get(Invoice, ids[0])
    finalise_invoices(session, ctx, [invoice], run_post_tasks=post_tasks)
    lines = [{c: getattr(line, c) for c in _LINE_COLUMNS} for line in session.exec(
        select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)
        .order_by(InvoiceLine.position)).all()]
    return ContractInvoiced(draft.contract_id, draft.cycle.number, invoice,
                            draft.replaced_invoice_id, False, lines=lines)


_LINE_COLUMNS = ("description", "line_type", "quantity", "unit_price", "amount", "tax_amount",
                 "prorata_note", "change", "provenance", "period_start", "period_end")


def invoice_many(ctx: HubContext, contract_ids: Sequence[int], *, post_tasks: bool = False,
                 preview: bool = False) -> list[ContractInvoiced]:
    """Invoice each contract's next un-invoiced cycle (the bulk window's preselection).

    **Per contract, not all-or-nothing**: each contract is invoiced in its own transaction, as
    if generated one by one (seed 004's bulk window is a shortcut for that). A contract that
    cannot be invoiced (every cycle invoiced, no such contract, a counter refusing) does not
    stop the others: its outcome carries the error, and the caller reports every contract's
    outcome — invoiced, or why not. With ``preview`` nothing is stored and each outcome holds
    the draft's components.
    """
    outcomes = []
    for contract_id in dict.fromkeys(contract_ids):  # a contract named twice is invoiced once
        try:
            outcomes.append(invoice_contract(ctx, contract_id, post_tasks=post_tasks,
                                             preview=preview))
        except HubError as exc:
            outcomes.append(ContractInvoiced(contract_id, None, None, None, preview,
                                             error=str(exc)))  # the message and its hint
    return outcomes
