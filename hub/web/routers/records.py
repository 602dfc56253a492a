"""Changing and retiring records over HTTP: organisations, contacts, assets, products,
recurring invoices and their lines, invoice groups, contracts, future items and mappings.

Bodies are the input models of :mod:`hub.validation.records` (the CLI's rules): a bad value is a
422 with one line, and nothing is stored. ``PATCH`` changes the fields given; ``POST .../retire``
(or ``/end``) retires a record and keeps its history. Amounts are strings. A ``PATCH`` with
no field (``{}``) is refused with 422 "nothing to change", as the CLI's ``edit`` commands refuse
to run without an option: nothing is stored and no audit event is written. A ``PATCH`` whose
values all equal the stored ones is 200 with the record as it is, and writes nothing either.
"""

from __future__ import annotations

from typing import Annotated, Any, Callable

from fastapi import APIRouter, Body, Depends, Path
from pydantic import BaseModel

from hub.db.engine import session_scope
from hub.host.context import HubContext
from hub.validation.fields import Day
from hub.validation.records import (
    AssetChanges, ContactChanges, ContractChanges, FutureItemChanges, GroupChanges,
    LineChanges, MappingChanges, OrganisationChanges, ProductChanges, RecurringChanges, Strict,
)
from hub.web.deps import RowId, changes_given as _given, get_context, require_token

__all__ = ["router"]

router = APIRouter(tags=["records"], dependencies=[Depends(require_token)])


def _plain(value: Any) -> Any:
    from hub.web.routers.billing import plain

    return plain(value)


def _row(row: Any) -> dict:
    data = row.model_dump() if isinstance(row, BaseModel) else dict(row)
    return _plain(data)


def _run(ctx: HubContext, work: Callable[[Any], Any]) -> dict:
    with session_scope(ctx.engine) as session:
        row = work(session)
        session.flush()
        return _row(row)


class EndIn(Strict):
    """When an agreement ends: the last day it bills."""

    end_date: Day


@router.patch("/organisations/{organisation_id:int}", summary="Change an organisation")
def edit_organisation(organisation_id: RowId, body: OrganisationChanges,
                      ctx: HubContext = Depends(get_context)) -> dict:
    from hub.billing.editing import edit_organisation as edit

    return _run(ctx, lambda s: edit(s, organisation_id, _given(body)))


@router.post("/organisations/{organisation_id:int}/retire", summary="Stop billing an organisation")
def retire_organisation(organisation_id: RowId, ctx: HubContext = Depends(get_context)) -> dict:
    from hub.billing.editing import retire_organisation as retire

    return _run(ctx, lambda s: retire(s, organisation_id))


@router.post("/organisations/{organisation_id:int}/reactivate",
             summary="Bill a retired organisation again")
def reactivate_organisation(organisation_id: RowId,
                            ctx: HubContext = Depends(get_context)) -> dict:
    from hub.billing.editing import reactivate_organisation as reactivate

    return _run(ctx, lambda s: reactivate(s, organisation_id))


@router.patch("/contacts/{contact_id:int}", summary="Change a contact")
def edit_contact(contact_id: RowId, body: ContactChanges,
                 ctx: HubContext = Depends(get_context)) -> dict:
    from hub.billing.editing import edit_contact as edit

    return _run(ctx, lambda s: edit(s, contact_id, _given(body)))


@router.post("/contacts/{contact_id:int}/retire", summary="A contact left: no longer counted")
def retire_contact(contact_id: RowId, ctx: HubContext = Depends(get_context)) -> dict:
    from hub.billing.editing import retire_contact as retire

    return _run(ctx, lambda s: retire(s, contact_id, ctx.clock()))


@router.patch("/assets/{asset_id:int}", summary="Change a device")
def edit_asset(asset_id: RowId, body: AssetChanges,
               ctx: HubContext = Depends(get_context)) -> dict:
    from hub.billing.editing import edit_asset as edit

    return _run(ctx, lambda s: edit(s, asset_id, _given(body)))


@router.post("/assets/{asset_id:int}/retire", summary="A device is gone: no longer counted")
def retire_asset(asset_id: RowId, ctx: HubContext = Depends(get_context)) -> dict:
    from hub.billing.editing import retire_asset as retire

    return _run(ctx, lambda s: retire(s, asset_id, ctx.clock()))


@router.patch("/products/{code}", summary="Change a product (a price rise)")
def edit_product(code: Annotated[str, Path(min_length=1, max_length=200)], body: ProductChanges,
                 update_lines: bool = False, ctx: HubContext = Depends(get_context)) -> dict:
    from hub.billing.editing import edit_product as edit

    return _run(ctx, lambda s: edit(s, code, _given(body), update_lines=update_lines)[0])


@router.post("/products/{code}/retire", summary="No new line can use the product")
def retire_product(code: Annotated[str, Path(min_length=1, max_length=200)],
                   ctx: HubContext = Depends(get_context)) -> dict:
    from hub.billing.editing import retire_product as retire

    return _run(ctx, lambda s: retire(s, code))


@router.patch("/recurring/{recurring_id:int}", summary="Change a recurring invoice")
def edit_recurring(recurring_id: RowId, body: RecurringChanges,
                   ctx: HubContext = Depends(get_context)) -> dict:
    from hub.billing.schedule_edits import edit_recurring as edit

    return _run(ctx, lambda s: edit(s, recurring_id, _given(body)))


@router.post("/recurring/{recurring_id:int}/end", summary="End an agreement after a day")
def end_recurring(recurring_id: RowId, body: EndIn,
                  ctx: HubContext = Depends(get_context)) -> dict:
    from hub.billing.schedule_edits import end_recurring as end

    return _run(ctx, lambda s: end(s, recurring_id, body.end_date))


@router.patch("/recurring-lines/{line_id:int}", summary="Change a template line")
def edit_line(line_id: RowId, body: LineChanges, ctx: HubContext = Depends(get_context)) -> dict:
    from hub.billing.schedule_edits import edit_line as edit
    from hub.db.models import RecurringLine
    from hub.validation.changes import line_changes

    def work(session):
        # Only what differs: edit_line audits every call, even one that changes nothing.
        changes = line_changes(session, line_id, _given(body))
        return edit(session, line_id, changes) if changes else session.get(RecurringLine,
                                                                          line_id)

    return _run(ctx, work)


@router.post("/recurring-lines/{line_id:int}/retire", summary="Stop billing a template line")
def retire_line(line_id: RowId, ctx: HubContext = Depends(get_context)) -> dict:
    from hub.billing.schedule_edits import retire_line as retire

    return _run(ctx, lambda s: retire(s, line_id))


@router.patch("/invoice-groups/{group_id:int}", summary="Change an invoice group")
def edit_group(group_id: RowId, body: GroupChanges,
               ctx: HubContext = Depends(get_context)) -> dict:
    from hub.billing.schedule_edits import edit_group as edit

    return _run(ctx, lambda s: edit(s, group_id, _given(body)))


@router.patch("/contracts/{contract_id:int}", summary="Change a billing contract")
def edit_contract(contract_id: RowId, body: ContractChanges,
                  ctx: HubContext = Depends(get_context)) -> dict:
    from hub.billing.schedule_edits import edit_contract as edit

    return _run(ctx, lambda s: edit(s, contract_id, _given(body)))


@router.post("/contracts/{contract_id:int}/end", summary="Invoice no further cycle")
def end_contract(contract_id: RowId, ctx: HubContext = Depends(get_context)) -> dict:
    from hub.billing.schedule_edits import end_contract as end

    return _run(ctx, lambda s: end(s, contract_id))


@router.patch("/future-items/{item_id:int}", summary="Change a waiting future item")
def edit_future_item(item_id: RowId, body: FutureItemChanges,
                     ctx: HubContext = Depends(get_context)) -> dict:
    from hub.billing.schedule_edits import edit_future_item as edit

    return _run(ctx, lambda s: edit(s, item_id, _given(body)))


@router.delete("/future-items/{item_id:int}", status_code=204,
               summary="Remove a future item no invoice has taken")
def remove_future_item(item_id: RowId, ctx: HubContext = Depends(get_context)) -> None:
    from hub.billing.schedule_edits import remove_future_item as remove

    with session_scope(ctx.engine) as session:
        remove(session, item_id)


@router.patch("/mappings/{mapping_id:int}", summary="Map a connector's company to an organisation")
def map_organisation(mapping_id: RowId, body: MappingChanges = Body(...),
                     ctx: HubContext = Depends(get_context)) -> dict:
    from hub.billing.editing import map_organisation as remap

    # Only what was sent: an empty body must not read as organisation_id null (unmap).
    return _run(ctx, lambda s: remap(s, mapping_id, _given(body)))
