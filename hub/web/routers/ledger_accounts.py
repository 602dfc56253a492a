"""Customers' accounts over HTTP: statements, balance and calendar, the billing config, the
next block date, cancelling the last recurring invoice, and paying account credit back.

Each request is one transaction; a refusal is a 4xx whose ``detail`` says what to do.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from hub.host.context import HubContext
from hub.validation.accounts import AccountConfigChanges
from hub.validation.fields import Amount, Day, Reason
from hub.web.deps import RowId, changes_given, get_context, require_token
from hub.web.routers.ledger_common import (
    Keyed, LedgerIn, json_ready, organisation_currency, payment_out, session_of,
)

__all__ = ["router"]

router = APIRouter(tags=["ledger"], dependencies=[Depends(require_token)])
_session = session_of

# Annotated, not ``= Query(...)``: FastAPI drops a type's own validator (Day refuses numbers,
# which pydantic's date reads as Unix time) when the default is a Query.
@router.get("/organisations/{organisation_id:int}/statement", summary="A statement")
def statement(organisation_id: RowId, start: Annotated[Day, Query()],
              end: Annotated[Day, Query()],
              mode: Literal["documents", "transactions"] = Query("documents"),
              ctx: HubContext = Depends(get_context)) -> dict[str, Any]:
    """Finance documents with the Total invoiced figures, or transactions with balances."""
    from dataclasses import asdict

    from hub.ledger import statement as make

    with _session(ctx) as session:
        st = make(session, organisation_id, start, end, mode)
    return json_ready(asdict(st))


@router.get("/organisations/{organisation_id:int}/account", summary="Balance and calendar")
def account(organisation_id: RowId, ctx: HubContext = Depends(get_context)) -> dict[str, Any]:
    """Balance, credit, what is due; next due, block and deactivation dates; reminders; the
    account's state (active, blocked, deactivated) and its recorded changes."""
    from hub.ledger import (
        account_state_view, account_summary, calendar_view, reminders, run_overdue_check,
    )

    run_overdue_check(ctx)  # statuses as of today, as the invoice list shows them
    with _session(ctx) as session:
        view = calendar_view(session, organisation_id, today=ctx.today(),
                             default_due_days=ctx.settings.company.payment_due_days)
        summary = json_ready(account_summary(session, organisation_id),
                             organisation_currency(session, organisation_id))
        return {**summary,
                **account_state_view(session, organisation_id),
                "next_billing": view.next_billing.billing_date,
                "next_due": view.next_billing.due_date,
                "next_block": view.next_billing.block_date,
                "next_deactivation": view.next_billing.deactivation_date,
                "block_state": view.block_state, "triggered_by": view.triggered_by,
                "reminders": [{"invoice": r.invoice_key, "days_after": r.days_after,
                               "send_on": r.send_on, "days_remaining": r.days_remaining}
                              for r in reminders(session, organisation_id,
                                                 ctx.settings.billing.reminder_days,
                                                 today=ctx.today())]}


class NextBlockDateIn(LedgerIn):
    """Set next block date: moves the block date once, for the current unpaid invoice."""

    date: Day


@router.post("/organisations/{organisation_id:int}/next-block-date",
             summary="Set next block date")
def next_block_date(organisation_id: RowId, body: NextBlockDateIn,
                    ctx: HubContext = Depends(get_context)) -> dict[str, Any]:
    """Refused once the account is blocked, for a past date, or with nothing unpaid."""
    from hub.ledger import set_next_block_date

    with _session(ctx) as session:
        set_next_block_date(session, organisation_id, body.date, today=ctx.today())
    return account(organisation_id, ctx)


@router.post("/organisations/{organisation_id:int}/cancel-last-recurring-invoice",
             summary="Cancel the last recurring invoice")
def cancel_last(organisation_id: RowId, ctx: HubContext = Depends(get_context)) -> dict[str, Any]:
    """Delete the last recurring invoice completely; future items stay (with a warning)."""
    from hub.ledger import cancel_last_recurring_invoice

    with _session(ctx) as session:
        return cancel_last_recurring_invoice(session, organisation_id, today=ctx.today()).__dict__


@router.get("/organisations/{organisation_id:int}/account/config",
            summary="The billing config")
def get_config(organisation_id: RowId, ctx: HubContext = Depends(get_context)) -> dict[str, Any]:
    """Minimum balance, blocking and deactivation days, holidays, reminder days (the defaults
    when none was set), as ``hub account config ORG`` shows them."""
    from hub.ledger import account_config

    with _session(ctx) as session:
        return json_ready(account_config(session, organisation_id).model_dump(mode="json"),
                          organisation_currency(session, organisation_id))


@router.patch("/organisations/{organisation_id:int}/account/config",
              summary="Change the billing config")
def patch_config(organisation_id: RowId, changes: AccountConfigChanges,
                 ctx: HubContext = Depends(get_context)) -> dict[str, Any]:
    """The settings sent change (each checked as ``hub account config`` checks it); the
    others keep their value. Values already stored write nothing, not even an audit event;
    an empty body is refused (422 "nothing to change")."""
    from hub.ledger import set_account_config

    with _session(ctx) as session:
        return json_ready(set_account_config(session, organisation_id,
                                             **changes_given(changes)).model_dump(mode="json"),
                          organisation_currency(session, organisation_id))


class RefundBalanceIn(LedgerIn):
    """Account credit paid back: at most the account's free credit, in whole minor units of
    the organisation's currency."""

    amount: Amount = Field(gt=0)
    method: str = "bank_transfer"
    reason: Reason = ""
    date: Optional[Day] = None


@router.post("/organisations/{organisation_id:int}/refund-balance", status_code=201,
             summary="Pay account credit back")
def refund_balance(organisation_id: RowId, body: RefundBalanceIn, once: Keyed,
                   ctx: HubContext = Depends(get_context)) -> dict[str, Any]:
    """A negative payment drawn from the oldest free credit (an overpayment, a credit note's
    credit no invoice will use), pushed to accounting like any payment; more than the free
    credit is refused (422). Takes an ``Idempotency-Key``."""
    from hub.ledger import refund_from_balance

    with _session(ctx) as session:
        return once.run(session, lambda: payment_out(session, refund_from_balance(
            session, organisation_id, body.amount, date=body.date or ctx.today(),
            today=ctx.today(), method=body.method, reason=body.reason)))
