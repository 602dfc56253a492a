"""Pre-bills over HTTP (seed 003): pre-bill a stage, record WIP, see the options for attaching
it (markup, markdown, exact), attach, close. Pre-billing, recording WIP and attaching it take an
``Idempotency-Key`` (:mod:`hub.web.idempotency`): a repeat gets the first answer instead of a
second final invoice or WIP entry."""

from __future__ import annotations

from typing import Any, Literal, Optional

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict

from hub.validation.fields import Day
from hub.validation.prebills import PreBillInput, WipInput
from hub.host.context import HubContext
from hub.web.amounts import json_ready
from hub.web.deps import RowId, get_context, require_token
from hub.web.idempotency import Keyed

__all__ = ["router"]

router = APIRouter(tags=["pre-bills"], dependencies=[Depends(require_token)])


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PreBillIn(PreBillInput):
    """Pre-bill a stage by ``percent`` of its fee or a ``value`` (the CLI's rules:
    :mod:`hub.validation.prebills`)."""


class WipIn(WipInput):
    """A WIP transaction on a stage (the CLI's rules: :mod:`hub.validation.prebills`)."""


class AttachIn(_In):
    """Attach WIP chosen by ``method`` using markup, markdown or exact."""

    method: Literal["all", "range", "closest"] = "all"
    use: Literal["markup", "markdown", "exact"]
    start: Optional[Day] = None
    end: Optional[Day] = None
    close: Optional[bool] = None


def _session(ctx: HubContext):
    from hub.ledger import ledger_session

    return ledger_session(ctx)


# ------------------------------------------------------------------------------ pre-bills
@router.post("/prebills", status_code=201, summary="Pre-bill a stage")
def add_prebill(body: PreBillIn, once: Keyed,
                ctx: HubContext = Depends(get_context)) -> dict[str, Any]:
    """A final invoice for a percentage or value of the stage fee."""
    from hub.ledger import create_prebill

    company = ctx.settings.company
    with _session(ctx) as session:
        return once.run(session, lambda: _prebill_out(session, create_prebill(
            session, body.organisation_id, project=body.project, stage=body.stage,
            stage_fee=body.stage_fee, percent=body.percent, value=body.value,
            issue_date=body.issue_date or ctx.today(), due_days=company.payment_due_days,
            number_format=company.invoice_number_format, partner_id=company.partner_id,
            today=ctx.today())))


def _prebill_out(session, pb) -> dict[str, Any]:
    """A pre-bill as JSON, with its balance (what its answers, keyed or not, hold)."""
    from hub.ledger import prebill_balance

    return json_ready({**pb.model_dump(mode="json"),
                       "balance": str(prebill_balance(session, pb.id).rounded().amount)})


@router.post("/wip", status_code=201, summary="Record WIP")
def add_wip(body: WipIn, once: Keyed, ctx: HubContext = Depends(get_context)) -> dict[str, Any]:
    """A WIP transaction on a project stage."""
    from hub.ledger import add_wip as add

    with _session(ctx) as session:
        return once.run(session, lambda: json_ready(add(
            session, body.organisation_id, project=body.project, stage=body.stage,
            date=body.date or ctx.today(), value=body.value,
            description=body.description).model_dump(mode="json")))


@router.get("/prebills/{prebill_id:int}/options", summary="Options for attaching WIP")
def options(prebill_id: RowId, method: Literal["all", "range", "closest"] = Query("all"),
            start: Optional[Day] = Query(None), end: Optional[Day] = Query(None),
            ctx: HubContext = Depends(get_context)) -> list[dict[str, Any]]:
    """Markup, markdown or exact, with what each bills and leaves open."""
    from hub.ledger import attach_options

    with _session(ctx) as session:
        found = attach_options(session, prebill_id, method, start=start, end=end)
    return [{"use": o.use, "wip": list(o.wip), "wip_total": str(o.wip_total.rounded().amount),
             "billed": str(o.billed.rounded().amount), "close": o.close,
             "balance_after": str(o.balance_after.rounded().amount)} for o in found]


@router.post("/prebills/{prebill_id:int}/attach", summary="Attach WIP to a pre-bill")
def attach(prebill_id: RowId, body: AttachIn, once: Keyed,
           ctx: HubContext = Depends(get_context)) -> dict[str, Any]:
    """Attach the chosen WIP; markup/markdown close the pre-bill, exact may leave a balance."""
    from hub.ledger import attach_wip

    with _session(ctx) as session:
        def attached() -> dict[str, Any]:
            result = attach_wip(session, prebill_id, body.method, body.use, start=body.start,
                                end=body.end, close=body.close, when=ctx.clock())
            return {"billed": {str(k): str(v.rounded().amount) for k, v in result.billed},
                    "adjustment": str(result.adjustment.rounded().amount),
                    "balance_after": str(result.balance_after.rounded().amount),
                    "closed": result.closed}
        return once.run(session, attached)


@router.post("/prebills/{prebill_id:int}/close", summary="Close a pre-bill's balance")
def close(prebill_id: RowId, ctx: HubContext = Depends(get_context)) -> dict[str, Any]:
    """Close the remaining balance."""
    from hub.ledger import close_prebill

    with _session(ctx) as session:
        return _prebill_out(session, close_prebill(session, prebill_id, when=ctx.clock()))
