"""Billing runs: start a preview, look at a batch (paged), open a line's provenance, confirm
or discard (approvers)."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import quote_plus

from fastapi import Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import Text, cast, func, select

from hub import audit
from hub.db.engine import session_scope
from hub.db.models import BillingBatch, Invoice, InvoiceLine, Organisation
from hub.errors import NotFound
from hub.web.admin.forms import date_field
from hub.web.admin.paging import PER_PAGE, paginate
from hub.web.admin.rendering import render
from hub.web.admin.routes import page_router
from hub.web.admin.security import PageUser, approver, viewer

router = page_router()


@router.get("/runs")
def runs(request: Request, page: int = 1, status: str = "", user: PageUser = Depends(viewer)):
    """Every billing batch, newest first, with a form to start a preview."""
    ctx = request.app.state.ctx
    query = select(BillingBatch).order_by(BillingBatch.id.desc())
    if status:
        query = query.where(BillingBatch.status == status)
    with session_scope(ctx.engine) as session:
        pg = paginate(session, query, page, scalars=True)
    return render(request, "runs.html", pg=pg, status=status, today=ctx.today())


@router.post("/runs")
def start_preview(request: Request, run_date: str = Form(""), user: PageUser = Depends(approver)):
    """Make a preview batch for ``run_date`` (nothing final; numbers are not taken)."""
    from hub.billing import preview

    day = date_field(run_date, "run date")
    summary = preview(request.app.state.ctx, day)
    if summary.batch_id is None:
        # No batch was stored. What is due may already be drafted in a preview waiting for
        # approval (the form sent again, another clerk's preview): that batch is shown.
        told = quote_plus(summary.nothing_due())
        if summary.held_by:
            return RedirectResponse(f"/admin/runs/{summary.held_by[0]}?done={told}",
                                    status_code=303)
        return RedirectResponse(f"/admin/runs?done={told}", status_code=303)
    return RedirectResponse(f"/admin/runs/{summary.batch_id}?done=Preview+made:+"
                            f"{summary.invoices}+draft+invoices", status_code=303)


def _batch(session, batch_id: int) -> BillingBatch:
    batch = session.get(BillingBatch, batch_id)
    if batch is None:
        raise NotFound(f"billing batch {batch_id} does not exist", hint="see the list of runs")
    return batch


@router.get("/runs/{batch_id:int}")
def batch_page(request: Request, batch_id: int, page: int = 1, q: str = "",
               changed: bool = False, user: PageUser = Depends(viewer)):
    """One batch: a page of its invoices with every line's quantity, amount, change and cause;
    what was left out of the run and why (the batch's notes)."""
    ctx = request.app.state.ctx
    it, ot, lt = Invoice.__table__, Organisation.__table__, InvoiceLine.__table__
    query = (select(it.c.id, it.c.number, it.c.status, it.c.currency, it.c.total,
                    it.c.subtotal, it.c.tax_total, it.c.period_start, it.c.period_end,
                    it.c.organisation_id, ot.c.name.label("organisation"))
             .join(ot, ot.c.id == it.c.organisation_id).where(it.c.batch_id == batch_id))
    if q:
        query = query.where(ot.c.name.ilike(f"%{q}%"))
    if changed:
        query = query.where(it.c.id.in_(select(lt.c.invoice_id).where(lt.c.change.is_not(None))))
    query = query.order_by(it.c.id)
    with session_scope(ctx.engine) as session:
        batch = _batch(session, batch_id)
        # Unfiltered, the batch says how many invoices it holds: no count over all of them.
        pg = paginate(session, query, page, PER_PAGE,
                      total=None if q or changed else batch.invoice_count)
        ids = [row.id for row in pg.items]
        lines: dict[int, list] = {}
        if ids:
            for line in session.execute(select(
                    lt.c.id, lt.c.invoice_id, lt.c.description, lt.c.line_type, lt.c.quantity,
                    lt.c.unit_price, lt.c.amount, lt.c.change, lt.c.prorata_note,
                    # Whether a line has provenance, without loading it (it can list
                    # hundreds of devices): an empty JSON list is two characters.
                    (func.length(cast(lt.c.provenance, Text)) > 2).label("has_provenance"))
                    .where(lt.c.invoice_id.in_(ids)).order_by(lt.c.invoice_id, lt.c.position)):
                lines.setdefault(line.invoice_id, []).append(line)
        history = audit.list_events(session, target_type="batch", target_id=batch_id).events
    return render(request, "batch.html", batch=batch, pg=pg, lines=lines, q=q,
                  changed=changed, history=history)


@router.get("/runs/{batch_id:int}/totals")
def batch_totals_fragment(request: Request, batch_id: int, user: PageUser = Depends(viewer)):
    """The batch's total per currency (loaded after the page: adding up every invoice of a
    large batch must not slow down showing its first page); a page of its own when opened
    by the batch page's link, with JavaScript off."""
    with session_scope(request.app.state.ctx.engine) as session:
        batch = _batch(session, batch_id)
        totals = batch_totals(session, batch_id)
    template = "_batch_totals.html" if request.headers.get("HX-Request") else "batch_total.html"
    return render(request, template, totals=totals, batch=batch)


def batch_totals(session, batch_id: int) -> list[tuple[str, int, Decimal]]:
    """(currency, invoices, total) of a batch, exact: PostgreSQL sums NUMERIC in SQL; SQLite
    keeps amounts as decimal text, which its SUM would turn into a float, so there the
    amounts are added up here as Decimals."""
    it = Invoice.__table__
    where = it.c.batch_id == batch_id
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(select(it.c.currency, func.count(), func.sum(it.c.total))
                               .where(where).group_by(it.c.currency)).all()
        return [(currency, count, Decimal(total)) for currency, count, total in rows]
    sums: dict[str, list] = {}
    for currency, total in session.execute(select(it.c.currency, it.c.total).where(where)):
        entry = sums.setdefault(currency, [0, Decimal(0)])
        entry[0] += 1
        entry[1] += total
    return [(currency, count, total) for currency, (count, total) in sorted(sums.items())]


@router.get("/lines/{line_id:int}/provenance")
def provenance(request: Request, line_id: int, user: PageUser = Depends(viewer)):
    """Which devices, users, licences or time entries made a line's quantity (an htmx
    fragment under the line; a page of its own when opened directly)."""
    ctx = request.app.state.ctx
    with session_scope(ctx.engine) as session:
        line = session.get(InvoiceLine, line_id)
        if line is None:
            raise NotFound(f"no invoice line {line_id}")
        invoice = session.get(Invoice, line.invoice_id)
        items = list(line.provenance or [])
    columns: list[str] = []
    for item in items:
        if isinstance(item, dict):
            columns += [k for k in item if k not in columns]
    template = "_provenance.html" if request.headers.get("HX-Request") else "provenance.html"
    return render(request, template, line=line, invoice=invoice, items=items, columns=columns)


@router.post("/runs/{batch_id:int}/confirm")
def confirm(request: Request, batch_id: int, user: PageUser = Depends(approver)):
    """Finalise every draft of the batch (numbers taken, ledger written, pushes queued)."""
    from hub.billing import confirm as confirm_batch

    summary = confirm_batch(request.app.state.ctx, batch_id)
    return RedirectResponse(f"/admin/runs/{batch_id}?done=Batch+confirmed:+{summary.invoices}"
                            "+invoices+finalised", status_code=303)


@router.post("/runs/{batch_id:int}/discard")
def discard(request: Request, batch_id: int, user: PageUser = Depends(approver)):
    """Throw the preview away (its drafts are deleted)."""
    from hub.billing import discard as discard_batch

    discard_batch(request.app.state.ctx, batch_id)
    return RedirectResponse(f"/admin/runs/{batch_id}?done=Batch+discarded", status_code=303)
