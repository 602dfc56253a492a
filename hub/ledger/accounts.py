"""A customer's account: balance, calendar (due, block, deactivation), reminders, the overdue
check, and the links between finance documents (invoice <-> payments <-> credit notes)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Sequence

from sqlmodel import Session, select

from hub.core.ledger.calendar import (
    AccountCalendar, CalendarDates, Reminder, block_state, dates_for, next_billing_date,
    reminder_dates,
)
from hub.db.models.invoices import Invoice, InvoiceStatus
from hub.db.models.ledger import (
    AccountConfig, AccountStateChange, Allocation, CreditNote, Payment,
)
from hub.errors import NotFound, ValidationFailed
from hub.ledger._base import (
    balance, free_credits, get_organisation, is_live, live_invoices_due, open_debits,
    refresh_invoice, sum_decimal,
)
from hub.ledger.amounts import exact_amount

__all__ = ["account_calendar", "calendar_view", "CalendarView", "reminders", "find_overdue",
           "run_overdue_check", "links_of_invoice", "links_of_payment", "links_of_credit_note",
           "account_summary", "account_state_view", "account_config", "set_account_config"]


def set_account_config(session: Session, organisation_id: int, /,
                       **values: Any) -> AccountConfig:
    """Create or update the organisation's billing config (minimum balance, blocking, ...).

    Every value is checked first (:class:`~hub.validation.accounts.AccountConfigChanges`):
    the daily account calendar reads them all, and one it cannot read would stop it."""
    from hub.validation import parse
    from hub.validation.accounts import AccountConfigChanges

    org = get_organisation(session, organisation_id)
    changes = parse(AccountConfigChanges, values,
                    what=f"billing config of organisation {organisation_id}").given()
    if changes.get("minimum_balance") is not None:
        # finer than the currency's minor unit is refused, as for every amount of the ledger
        changes["minimum_balance"] = exact_amount(changes["minimum_balance"], org.currency,
                                                  "minimum balance")
    if "holidays" in changes:
        changes["holidays"] = [day.isoformat() for day in changes["holidays"]]  # stored as JSON
    from hub.billing.editing import apply_changes  # billing imports the ledger
    from hub.validation.changes import nothing_changed

    row = _config_row(session, organisation_id)  # the organisation was read above
    if {"holiday_country", "holiday_subdivision"} & changes.keys():
        _check_holiday_region(changes, row)
    # Audited like every edit: a blocking day or minimum balance decides when a customer is
    # blocked, so the trail says who changed it, from what, to what. Values already stored
    # write nothing (and a config that would only hold the defaults is not made).
    apply_changes(session, row, changes, "account_config", row_id=organisation_id,
                  currency=org.currency)
    if not nothing_changed(session):
        session.add(row)
        session.flush()
    return row


def _check_holiday_region(changes: dict[str, Any], row: AccountConfig) -> None:
    """Refuse a subdivision the holiday registry does not know for the config's country, as
    it will be after ``changes`` (either may be set by an earlier edit: a subdivision set for
    "US" is checked again when the country becomes "GB"). A known one is stored as the
    registry spells it."""
    from hub.validation.accounts import check_subdivision

    country = changes.get("holiday_country", row.holiday_country)
    subdivision = changes.get("holiday_subdivision", row.holiday_subdivision)
    if subdivision and not country and "holiday_subdivision" in changes:
        # Unchecked until a country came, it could then stop that edit; said now instead.
        raise ValidationFailed(f"holiday_subdivision {subdivision!r} needs a holiday country",
                               hint="set holiday_country with it, e.g. holiday_country=US "
                                    "holiday_subdivision=CA")
    if country and subdivision:
        known = check_subdivision(country, subdivision)
        if "holiday_subdivision" in changes:
            changes["holiday_subdivision"] = known


def account_config(session: Session, organisation_id: int) -> AccountConfig:
    """The organisation's billing config: its stored row, or the defaults when none was set
    (not stored)."""
    get_organisation(session, organisation_id)
    return _config_row(session, organisation_id)


def _config_row(session: Session, organisation_id: int) -> AccountConfig:
    return session.exec(select(AccountConfig).where(
        AccountConfig.organisation_id == organisation_id)).first() or AccountConfig(
        organisation_id=organisation_id)


def account_calendar(session: Session, organisation_id: int, *, default_due_days: int = 14
                     ) -> AccountCalendar:
    """The organisation's :class:`AccountCalendar` from its row and billing config."""
    org = get_organisation(session, organisation_id)
    cfg = _config_row(session, organisation_id)
    country, subdivision = _stored_region(cfg) if cfg.holiday_country else (None, None)
    return AccountCalendar(
        billing_day=org.billing_day,
        payment_due_days=org.payment_due_days if org.payment_due_days is not None
        else default_due_days,
        blocking_days=cfg.blocking_days, deactivation_days=cfg.deactivation_days,
        minimum_balance=cfg.minimum_balance, block_on_weekends=cfg.block_on_weekends,
        block_on_holidays=cfg.block_on_holidays, holiday_country=country,
        holiday_subdivision=subdivision,
        extra_holidays=frozenset(dt.date.fromisoformat(str(d)) for d in cfg.holidays))


def _stored_region(cfg: AccountConfig) -> tuple[str, str | None]:
    """The config's holiday country and subdivision as the holiday registry spells them.

    One stored before it was checked at entry (subdivision "ZZ" for the US, an unknown
    country) would make the registry raise NotImplementedError at the first date the
    calendar looks at: refused here instead, before any date is worked out, saying which
    setting to fix and how (the daily account calendar skips the account and names it)."""
    from hub.validation.accounts import check_country, check_subdivision

    org = cfg.organisation_id
    where = f"hub account config {org} ..., or PATCH /organisations/{org}/account/config"
    try:
        country = check_country(cfg.holiday_country)
        subdivision = (check_subdivision(country, cfg.holiday_subdivision)
                       if cfg.holiday_subdivision else None)
    except ValidationFailed as exc:
        raise ValidationFailed(
            f"the billing config of organisation {org} cannot make its calendar: {exc}",
            hint=f"{exc.hint} ({where})") from None
    return country, subdivision


@dataclass
class CalendarView:
    """The billing config calendar: next billing, due, block and deactivation dates."""

    balance: Decimal
    next_billing: CalendarDates
    block_state: str
    triggered_by: list[str] = field(default_factory=list)


def calendar_view(session: Session, organisation_id: int, *, today: dt.date,
                  default_due_days: int = 14) -> CalendarView:
    """Next due, block and deactivation dates. With an unpaid invoice the block date counts
    from the oldest one; otherwise from the next billing day."""
    cal = account_calendar(session, organisation_id, default_due_days=default_due_days)
    cfg = session.exec(select(AccountConfig).where(
        AccountConfig.organisation_id == organisation_id)).first()
    open_invoices = [i for i in live_invoices_due(session, organisation_id) if i.amount_due > 0]
    if open_invoices:
        first = open_invoices[0]
        dates = dates_for(first.issue_date, cal)
        block = max(dates.block_date, first.due_date + dt.timedelta(days=1))
        deactivation = dates.deactivation_date
        if cfg is not None and cfg.next_block_date is not None and cfg.next_block_date >= today:
            # "Set next block date": moved once, for this unpaid invoice (seed 002).
            block = cfg.next_block_date
            deactivation = block + dt.timedelta(days=cal.deactivation_days)
        dates = CalendarDates(dates.billing_date, first.due_date, block, deactivation)
    else:
        dates = dates_for(next_billing_date(today, cal.billing_day), cal)
    bal = balance(session, organisation_id)
    if cfg is None:
        # Seed 002: without billing-due processing the calendar says "Disabled in config".
        state = "disabled in config (set a billing config with `hub account config`)"
    elif cfg.deactivated_at is not None:
        state = "deactivated"
    else:
        state = block_state(bal, cal, today=today, block_date=dates.block_date,
                            already_blocked=bool(cfg and cfg.blocked_at))
    return CalendarView(bal, dates, state, [i.number or str(i.id) for i in open_invoices])


def reminders(session: Session, organisation_id: int, reminder_days: Sequence[int], *,
              today: dt.date) -> list[Reminder]:
    """Reminder dates for unpaid and partially paid invoices (days after the document date)."""
    cfg = session.exec(select(AccountConfig).where(
        AccountConfig.organisation_id == organisation_id)).first()
    days = (cfg.reminder_days if cfg and cfg.reminder_days else None) or list(reminder_days)
    open_invoices = [(i.number or i.id, i.issue_date)
                     for i in live_invoices_due(session, organisation_id)
                     if i.amount_due > 0]
    return reminder_dates(open_invoices, days, today)


def find_overdue(session: Session, today: dt.date) -> list[tuple[Invoice, int]]:
    """Re-status every live invoice past its due date; returns those that *became* overdue now
    with their days overdue (so the event is emitted once per invoice)."""
    became = []
    rows = session.exec(select(Invoice).where(
        Invoice.due_date < today,
        Invoice.status.in_([InvoiceStatus.unpaid, InvoiceStatus.pending,
                            InvoiceStatus.partially_paid]))).all()
    for invoice in rows:
        if not is_live(invoice):
            continue
        refresh_invoice(session, invoice, today)
        if invoice.status == InvoiceStatus.overdue:
            became.append((invoice, (today - invoice.due_date).days))
    return became


def run_overdue_check(ctx, today: dt.date | None = None) -> list[int]:
    """Mark newly overdue invoices, commit, then broadcast ``hub_invoice_overdue`` for each.

    The daily ``check_overdue`` job runs it, and so does every view that shows invoice
    statuses (the invoice list, ``account show``), so a status is never stale and the views
    agree even on a day the scheduler did not run; an invoice is announced overdue once."""
    from hub.db.engine import session_scope

    today = today or ctx.today()
    with session_scope(ctx.engine) as session:
        found = [(i.id, i.organisation_id, i.due_date, days)
                 for i, days in find_overdue(session, today)]
    for invoice_id, organisation_id, due_date, days in found:
        ctx.plugins.hook.hub_invoice_overdue(invoice_id=invoice_id,
                                             organisation_id=organisation_id, due_date=due_date,
                                             days_overdue=days)
    return [f[0] for f in found]


def links_of_invoice(session: Session, invoice_id: int) -> dict[str, list[dict]]:
    """The payments and credit notes linked to an invoice, with the amounts applied."""
    payments: dict[int, Decimal] = {}
    notes: dict[int, Decimal] = {}
    for a in session.exec(select(Allocation).where(Allocation.invoice_id == invoice_id)):
        if a.payment_id is not None:
            payments[a.payment_id] = payments.get(a.payment_id, Decimal(0)) + a.amount
        if a.credit_note_id is not None:
            notes[a.credit_note_id] = notes.get(a.credit_note_id, Decimal(0)) + a.amount
    for p in session.exec(select(Payment).where(Payment.invoice_id == invoice_id)):
        payments.setdefault(p.id, Decimal(0))
    for n in session.exec(select(CreditNote).where(CreditNote.invoice_id == invoice_id)):
        notes.setdefault(n.id, Decimal(0))
    return {
        "payments": [{"id": pid, "amount": str(session.get(Payment, pid).amount),
                      "applied": str(v)} for pid, v in sorted(payments.items())],
        "credit_notes": [{"id": nid, "number": session.get(CreditNote, nid).number,
                          "applied": str(v)} for nid, v in sorted(notes.items())],
    }


def _invoices_of(session: Session, column, value: int) -> list[dict]:
    out: dict[int, Decimal] = {}
    for a in session.exec(select(Allocation).where(column == value, Allocation.invoice_id.is_not(None))):
        out[a.invoice_id] = out.get(a.invoice_id, Decimal(0)) + a.amount
    return [{"id": iid, "number": session.get(Invoice, iid).number, "applied": str(v)}
            for iid, v in sorted(out.items())]


def links_of_payment(session: Session, payment_id: int) -> dict[str, list[dict]]:
    """The invoices a payment paid and its refunds."""
    if session.get(Payment, payment_id) is None:
        raise NotFound(f"no payment with id {payment_id}")
    refunds = session.exec(select(Payment).where(Payment.refund_of_id == payment_id)).all()
    return {"invoices": _invoices_of(session, Allocation.payment_id, payment_id),
            "refunds": [{"id": r.id, "amount": str(r.amount)} for r in refunds]}


def links_of_credit_note(session: Session, credit_note_id: int) -> dict[str, Any]:
    """The invoice a credit note corrects and the invoices it was applied to."""
    note = session.get(CreditNote, credit_note_id)
    if note is None:
        raise NotFound(f"no credit note with id {credit_note_id}")
    against = session.get(Invoice, note.invoice_id) if note.invoice_id is not None else None
    return {"against_invoice": note.invoice_id,
            "against_invoice_number": against.number if against is not None else None,
            "invoices": _invoices_of(session, Allocation.credit_note_id, credit_note_id)}


def account_state_view(session: Session, organisation_id: int) -> dict[str, Any]:
    """The account's state (active, blocked, deactivated), when it changed, the moved next
    block date if any, and the recorded changes, newest first."""
    cfg = session.exec(select(AccountConfig).where(
        AccountConfig.organisation_id == organisation_id)).first()
    state = "active"
    if cfg is not None and cfg.deactivated_at is not None:
        state = "deactivated"
    elif cfg is not None and cfg.blocked_at is not None:
        state = "blocked"
    changes = session.exec(select(AccountStateChange).where(
        AccountStateChange.organisation_id == organisation_id)
        .order_by(AccountStateChange.id.desc())).all()
    open_invoices = [{"number": i.number or str(i.id), "status": str(i.status),
                      "due_date": i.due_date, "amount_due": str(i.amount_due)}
                     for i in live_invoices_due(session, organisation_id) if i.amount_due > 0]
    return {"open_invoices": open_invoices, "state": state,
            "blocked_at": cfg.blocked_at if cfg else None,
            "deactivated_at": cfg.deactivated_at if cfg else None,
            "next_block_date_set": cfg.next_block_date if cfg else None,
            "state_changes": [{"on": c.effective_on, "from": str(c.previous),
                               "to": str(c.state), "reason": c.reason} for c in changes]}


def account_summary(session: Session, organisation_id: int) -> dict[str, Decimal]:
    """Balance, account credit and what is due, which always satisfy
    ``balance == credit - invoices_due - open_debits``."""
    org = get_organisation(session, organisation_id)
    return {
        "balance": balance(session, org.id),
        "credit": sum_decimal(left for _, left in free_credits(session, org.id)),
        "invoices_due": sum_decimal(i.amount_due for i in live_invoices_due(session, org.id)),
        "open_debits": sum_decimal(left for _, left in open_debits(session, org.id)),
    }
