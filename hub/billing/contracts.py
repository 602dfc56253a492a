"""Billing contracts and cycles (seed 004): generate one contract's invoice for a chosen cycle
(the next un-invoiced one preselected), or many contracts at once; replacing an invoiced cycle
makes a new invoice and leaves the old one alone; post-invoicing tasks only when asked.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Sequence

from sqlmodel import Session, select

from hub.app import HubContext
from hub.billing.catalogue import get_or_404
from hub.billing.counters import Counter
from hub.billing.finalise import finalise_invoices
from hub.billing.loading import due_for_cycles
from hub.billing.runs import build_drafts
from hub.billing.store import store_drafts
from hub.db.engine import session_scope
from hub.core.contracts import CycleChoice, CycleRef, build_cycles, choose_cycle
from hub.core.periods import Cadence, Frequency, Period
from hub.db.models import BillingContract, BillingCycle, Invoice, Organisation
from hub.errors import ValidationFailed

__all__ = ["create_contract", "cycles_of", "preselected_cycle", "invoice_contract",
           "invoice_many", "ContractInvoiced"]

_HINT = "list contracts with `hub contract list`"


@dataclass
class ContractInvoiced:
    """The outcome of generating one contract's invoice."""

    contract_id: int
    cycle_number: int
    invoice: Invoice | None
    replaced_invoice_id: int | None
    preview: bool


def create_contract(session: Session, organisation_id: int, name: str, start_date: dt.date, *,
                    cycles: int = 12, frequency: str = "monthly", interval: int = 1,
                    billing_day: int | None = None, auto_charge: bool = False,
                    auto_sync: bool = True, auto_send: bool = False,
                    refund_policy: str = "") -> BillingContract:
    """A billing contract and its first ``cycles`` billing cycles."""
    org = get_or_404(session, Organisation, organisation_id, "organisation",
                     "list organisations with `hub org list`")
    try:
        cadence = Cadence(Frequency(frequency), interval,
                          billing_day or min(start_date.day, 28), start_date)
    except ValueError as exc:
        raise ValidationFailed(str(exc), hint="frequencies: " + ", ".join(Frequency)) from None
    contract = BillingContract(organisation_id=org.id, name=name, frequency=frequency,
                               interval=interval, billing_day=cadence.billing_day,
                               start_date=start_date, auto_charge=auto_charge,
                               auto_sync=auto_sync, auto_send=auto_send,
                               refund_policy=refund_policy)
    session.add(contract)
    session.flush()
    for number, period in enumerate(build_cycles(cadence, start_date, cycles), start=1):
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


def invoice_contract(ctx: HubContext, contract_id: int, *, cycle: int | None = None,
                     replace: bool = False, post_tasks: bool = False, preview: bool = False,
                     issue_date: dt.date | None = None) -> ContractInvoiced:
    """Generate (or with ``preview`` only show) the invoice of one cycle.

    The invoice is final at once (numbered, in the ledger). Automations — charge, sync, send,
    as enabled on the contract — run only with ``post_tasks`` (seed 004). Uses its own
    transactions: none is open while the counter hooks run.
    """
    with session_scope(ctx.engine) as session:
        rows = cycles_of(session, contract_id)
        choice: CycleChoice = choose_cycle(_refs(rows), cycle, replace=replace)
        row = next(c for c in rows if c.number == choice.cycle.number)
        replace_map = {row.id: choice.replaces_invoice_id} if choice.replaces_invoice_id else {}
        dues = due_for_cycles(session, [row], issue_date or ctx.today(),
                              ctx.settings.company.payment_due_days, replace=replace_map)
    drafts = build_drafts(dues, Counter(ctx.plugins.pm, ctx.connections(), ctx.engine),
                          ctx.clock(), ctx.settings.billing.tax_rounding)
    if preview:
        invoice = Invoice(**drafts[0].invoice)
        return ContractInvoiced(contract_id, row.number, invoice, choice.replaces_invoice_id,
                                True)
    with session_scope(ctx.engine) as session:
        ids, skipped = store_drafts(session, None, drafts)
        if not ids:
            raise ValidationFailed(f"cycle {row.number} is already invoiced or being invoiced "
                                   f"({skipped[0][2]})",
                                   hint="confirm or discard that batch, or pass --replace")
        invoice = session.get(Invoice, ids[0])
        finalise_invoices(session, ctx, [invoice], run_post_tasks=post_tasks)
    return ContractInvoiced(contract_id, row.number, invoice, choice.replaces_invoice_id, False)


def invoice_many(ctx: HubContext, contract_ids: Sequence[int], *,
                 post_tasks: bool = False) -> list[ContractInvoiced]:
    """Invoice each contract's next un-invoiced cycle (the bulk window's preselection)."""
    return [invoice_contract(ctx, cid, post_tasks=post_tasks) for cid in contract_ids]
