"""Organisations: the paged list; one organisation's details (editable by approvers),
contacts, assets, recurring invoices and contracts, account balance and statement, and its
mappings to source companies."""

from __future__ import annotations

import datetime as dt

from fastapi import Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import func, select

from hub import audit
from hub.db.engine import session_scope
from hub.db.models import (
    Asset, BillingContract, Contact, Invoice, Organisation, OrganisationMapping, RecurringInvoice,
)
from hub.errors import NotFound, ValidationFailed
from hub.web.admin.paging import paginate
from hub.web.admin.rendering import render
from hub.web.admin.routes import page_router
from hub.web.admin.security import PageUser, approver, viewer

router = page_router()

#: Assets and contacts shown on the organisation page (the rest are counted).
SHOWN = 100


@router.get("/organisations")
def organisations(request: Request, page: int = 1, q: str = "", active: str = "yes",
                  user: PageUser = Depends(viewer)):
    """Organisations by name; search by name."""
    ctx = request.app.state.ctx
    query = select(Organisation).order_by(Organisation.name, Organisation.id)
    if q:
        query = query.where(Organisation.name.ilike(f"%{q}%"))
    if active in ("yes", "no"):
        query = query.where(Organisation.active == (active == "yes"))
    with session_scope(ctx.engine) as session:
        pg = paginate(session, query, page, scalars=True)
    return render(request, "organisations.html", pg=pg, q=q, active=active)


def _organisation(session, organisation_id: int) -> Organisation:
    org = session.get(Organisation, organisation_id)
    if org is None:
        raise NotFound(f"no organisation {organisation_id}")
    return org


@router.get("/organisations/{organisation_id:int}")
def organisation_page(request: Request, organisation_id: int, user: PageUser = Depends(viewer)):
    """Everything about one organisation on one page."""
    from hub.ledger import account_summary

    ctx = request.app.state.ctx
    today = ctx.today()
    with session_scope(ctx.engine) as session:
        org = _organisation(session, organisation_id)

        def rows(model, order, limit=SHOWN):
            query = select(model).where(model.organisation_id == organisation_id)
            total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
            return session.execute(query.order_by(order).limit(limit)).scalars().all(), total

        contacts, contact_count = rows(Contact, Contact.name)
        assets, asset_count = rows(Asset, Asset.name)
        schedules, _ = rows(RecurringInvoice, RecurringInvoice.id)
        contracts, _ = rows(BillingContract, BillingContract.id)
        recent, invoice_count = rows(Invoice, Invoice.id.desc(), 10)
        mappings = session.execute(select(OrganisationMapping).where(
            OrganisationMapping.organisation_id == organisation_id)).scalars().all()
        account = account_summary(session, organisation_id)
        history = audit.list_events(session, target_type="organisation",
                                    target_id=organisation_id).events
    statement_start = today.replace(day=1) - dt.timedelta(days=90)
    return render(request, "organisation.html", org=org, contacts=contacts,
                  contact_count=contact_count, assets=assets, asset_count=asset_count,
                  schedules=schedules, contracts=contracts, recent=recent,
                  invoice_count=invoice_count, mappings=mappings, account=account,
                  history=history, statement_start=statement_start, today=today)


@router.post("/organisations/{organisation_id:int}")
def edit(request: Request, organisation_id: int, name: str = Form(""), email: str = Form(""),
         billing_day: str = Form("1"), payment_due_days: str = Form(""),
         auto_bill: str = Form(""), active: str = Form(""), user: PageUser = Depends(approver)):
    """Save the organisation's details; every changed field is in the audit trail. The same
    services as the CLI's and the API's edit, retire and reactivate, so the rules (a free name,
    the fields' bounds) and the audit events are theirs."""
    from hub.billing.editing import (
        edit_organisation, reactivate_organisation, retire_organisation,
    )
    from hub.validation.changes import nothing_changed

    ctx = request.app.state.ctx
    values = {"name": name, "email": email.strip() or None, "billing_day": billing_day.strip(),
              "payment_due_days": payment_due_days.strip() or None, "auto_bill": bool(auto_bill)}
    with session_scope(ctx.engine) as session:
        org = edit_organisation(session, organisation_id, values)
        changed = not nothing_changed(session)
        if bool(active) != org.active:
            (reactivate_organisation if active else retire_organisation)(session, org.id)
            changed = True
    done = "Saved" if changed else "Nothing+changed"
    return RedirectResponse(f"/admin/organisations/{organisation_id}?done={done}",
                            status_code=303)


@router.get("/organisations/{organisation_id:int}/statement")
def statement(request: Request, organisation_id: int, start: str = "", end: str = "",
              user: PageUser = Depends(viewer)):
    """The statement PDF for a period (documents mode)."""
    from fastapi import Response

    from hub.customer_docs import DocumentRenderer
    from hub.web.admin.forms import date_field

    ctx = request.app.state.ctx
    first = date_field(start, "start", ctx.today().replace(day=1))
    last = date_field(end, "end", ctx.today())
    if last < first:
        raise ValidationFailed("the statement's end is before its start")
    with session_scope(ctx.engine) as session:
        document = DocumentRenderer(ctx.settings, today=ctx.today).statement(
            session, organisation_id, first, last, "documents")
    return Response(document.pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{document.filename}"'})
