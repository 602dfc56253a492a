"""The account calendar acting (seed 002): block and deactivation happen when their dates come.

- **Blocked**: on the block date (from the oldest unpaid invoice's due date plus the blocking
  days, moved past weekends/holidays as configured, or the "set next block date" override) an
  account whose balance is below its minimum balance is blocked.
- **Deactivated**: on the deactivation date (the block date plus the deactivation days) a
  blocked account still below the minimum is deactivated.
- **Reversible by payment**: "maintaining a minimum balance will allow customer to avoid being
  blocked" — as soon as a payment (or credit) brings the balance back to the minimum, the
  account is active again (block and deactivation alike: both exist only to collect the debt).
- **Set next block date** moves the block date once, for the current unpaid invoice; once that
  date has passed the block date returns to the configured one; it cannot be set for an account
  that is already blocked.
- Only accounts with a billing config (``hub account config ...``) are processed: that is where
  billing-due processing is switched on for a customer (seed: "Enable processing of Billing
  Due"; without it the calendar shows "Disabled in config").

Each change is a recorded :class:`~hub.db.models.ledger.AccountStateChange`; after it is
committed, :func:`notify_state_changes` tells the plugins (``hub_account_state_changed``) once.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

from sqlmodel import Session, select

from hub.core.money import Money
from hub.db.models._base import utcnow
from hub.db.models.ledger import AccountConfig, AccountState, AccountStateChange
from hub.errors import DocumentRefused, HubError, ValidationFailed
from hub.ledger._base import balance, get_organisation, live_invoices_due
from hub.ledger.accounts import account_calendar, calendar_view

if TYPE_CHECKING:
    from hub.host.context import HubContext

__all__ = ["state_of", "apply_account_calendar", "lift_if_paid", "set_next_block_date",
           "run_account_calendar", "notify_state_changes"]

log = logging.getLogger("hub.ledger.account_states")


def _config(session: Session, organisation_id: int) -> AccountConfig | None:
    return session.exec(select(AccountConfig).where(
        AccountConfig.organisation_id == organisation_id)).first()


def state_of(config: AccountConfig | None) -> AccountState:
    """The account's state as recorded on its billing config."""
    if config is None:
        return AccountState.active
    if config.deactivated_at is not None:
        return AccountState.deactivated
    if config.blocked_at is not None:
        return AccountState.blocked
    return AccountState.active


def _change(session: Session, config: AccountConfig, state: AccountState, day: dt.date,
            reason: str) -> AccountStateChange:
    previous = state_of(config)
    # Recorded at the day it took effect (the hub's clock, not the machine's).
    now = dt.datetime.combine(day, dt.time.min, tzinfo=dt.timezone.utc)
    if state == AccountState.active:
        config.blocked_at = config.deactivated_at = None
    elif state == AccountState.blocked:
        config.blocked_at = now
    else:
        config.deactivated_at = now
    config.next_block_date = None
    session.add(config)
    row = AccountStateChange(organisation_id=config.organisation_id, previous=previous,
                             state=state, effective_on=day, reason=reason)
    session.add(row)
    session.flush()
    return row


def lift_if_paid(session: Session, organisation_id: int, day: dt.date) -> AccountStateChange | None:
    """After money came in: a blocked or deactivated account whose balance is back at its
    minimum becomes active again."""
    config = _config(session, organisation_id)
    if state_of(config) == AccountState.active:
        return None
    bal = balance(session, organisation_id)
    if bal < config.minimum_balance:
        return None
    currency = get_organisation(session, organisation_id).currency
    return _change(session, config, AccountState.active, day,
                   f"balance {Money(bal, currency)} is back at the minimum balance "
                   f"{Money(config.minimum_balance, currency)}")


def apply_account_calendar(session: Session, organisation_id: int, today: dt.date, *,
                           default_due_days: int = 14) -> AccountStateChange | None:
    """Move one account along its calendar as of ``today``; the change made, if any."""
    config = _config(session, organisation_id)
    if config is None:
        return None
    lifted = lift_if_paid(session, organisation_id, today)
    if lifted is not None:
        return lifted
    state = state_of(config)
    view = calendar_view(session, organisation_id, today=today,
                         default_due_days=default_due_days)
    below = view.balance < config.minimum_balance
    dates = view.next_billing
    currency = get_organisation(session, organisation_id).currency
    bal, minimum = Money(view.balance, currency), Money(config.minimum_balance, currency)
    if state == AccountState.active:
        if config.next_block_date is not None and today > config.next_block_date and not below:
            config.next_block_date = None  # the moved date passed: back to the configured one
            session.add(config)
        if below and view.triggered_by and today >= dates.block_date:
            return _change(session, config, AccountState.blocked, today,
                           f"block date {dates.block_date}: balance {bal} is below the "
                           f"minimum balance {minimum} (unpaid: "
                           f"{', '.join(view.triggered_by)})")
    elif state == AccountState.blocked and below and today >= dates.deactivation_date:
        return _change(session, config, AccountState.deactivated, today,
                       f"deactivation date {dates.deactivation_date}: balance {bal} is "
                       f"still below the minimum balance {minimum}")
    return None


def set_next_block_date(session: Session, organisation_id: int, day: dt.date, *,
                        today: dt.date) -> AccountConfig:
    """Move the next block date (once, for the current unpaid invoice)."""
    get_organisation(session, organisation_id)
    config = _config(session, organisation_id) or AccountConfig(organisation_id=organisation_id)
    if state_of(config) != AccountState.active:
        raise DocumentRefused(f"organisation {organisation_id} is already {state_of(config)}: "
                              "its next block date cannot be edited",
                              hint="record a payment to lift the block first")
    if day < today:
        raise ValidationFailed(f"the next block date {day} is in the past",
                               hint=f"give {today} or a later date")
    if not any(i.amount_due > 0 for i in live_invoices_due(session, organisation_id)):
        raise ValidationFailed(f"organisation {organisation_id} has no unpaid invoice, so there "
                               "is no block date to move", hint="nothing to do")
    account_calendar(session, organisation_id)  # the config must still make a calendar
    config.next_block_date = day
    session.add(config)
    session.flush()
    return config


def notify_state_changes(ctx: "HubContext") -> int:
    """Call ``hub_account_state_changed`` once for each committed change not yet told."""
    from hub.db.engine import session_scope

    told = 0
    with session_scope(ctx.engine) as session:
        pending = session.exec(select(AccountStateChange).where(
            AccountStateChange.notified_at.is_(None)).order_by(AccountStateChange.id)).all()
        for row in pending:
            ctx.plugins.hook.hub_account_state_changed(
                organisation_id=row.organisation_id, previous=str(row.previous),
                state=str(row.state), effective_on=row.effective_on, reason=row.reason)
            row.notified_at = utcnow()
            session.add(row)
            told += 1
    return told


def run_account_calendar(ctx: "HubContext", today: dt.date | None = None) -> list[int]:
    """The daily job: apply every configured account's calendar, commit, then tell plugins.
    Returns the ids of the changes made."""
    from hub.db.engine import session_scope

    today = today or ctx.today()
    made: list[int] = []
    with session_scope(ctx.engine) as session:
        ids = session.exec(select(AccountConfig.organisation_id)).all()
        for org_id in ids:
            # One account whose stored config cannot be read (written before it was checked
            # at entry: a holiday "2026-02-30", an unknown country) is skipped and named; the
            # other accounts still move along their calendars.
            savepoint = session.begin_nested()
            try:
                change = apply_account_calendar(
                    session, org_id, today,
                    default_due_days=ctx.settings.company.payment_due_days)
            except (HubError, ValueError, TypeError, NotImplementedError) as exc:
                savepoint.rollback()
                log.warning("account calendar of organisation %s skipped: %s: %s", org_id,
                            type(exc).__name__, exc, extra={"organisation_id": org_id})
                continue
            savepoint.commit()
            if change is not None:
                made.append(change.id)
    notify_state_changes(ctx)
    return made
