"""Reconciliation: run it, and review the findings with money at stake: act on the fix the
report offers (repush, replay) or dismiss with a reason."""

from __future__ import annotations

from fastapi import Depends, Form, Request
from fastapi.responses import RedirectResponse

from hub.db.engine import session_scope
from hub.web.admin.findings_store import (
    FIX_ACTIONS, act_on, dismiss, findings_query, latest_run, run_and_store,
)
from hub.web.admin.paging import paginate
from hub.web.admin.rendering import render
from hub.web.admin.routes import page_router
from hub.web.admin.security import PageUser, approver, viewer

router = page_router()


def _sections() -> list[str]:
    from hub.reconcile import SECTIONS

    return list(SECTIONS)


@router.get("/findings")
def findings(request: Request, page: int = 1, show: str = "open", section: str = "",
             user: PageUser = Depends(viewer)):
    """The latest run's findings, biggest money at stake first."""
    ctx = request.app.state.ctx
    with session_scope(ctx.engine) as session:
        run = latest_run(session)
        pg = paginate(session, findings_query(run.id, show=show, section=section or None),
                      page) if run else None
    fixable = {name: pattern for name, pattern in FIX_ACTIONS.items()}
    return render(request, "findings.html", run=run, pg=pg, show=show, section=section,
                  sections=_sections(), fixable=fixable)


@router.post("/findings/run")
async def run(request: Request, user: PageUser = Depends(approver)):
    """Run the chosen sections now and store the findings (dismissals carry over)."""
    from starlette.concurrency import run_in_threadpool

    form = await request.form()
    chosen = [s for s in form.getlist("section") if isinstance(s, str)]
    result = await run_in_threadpool(run_and_store, request.app.state.ctx, chosen)
    return RedirectResponse(f"/admin/findings?done=Reconciliation+run+{result.id}:+"
                            f"{result.finding_count}+findings", status_code=303)


@router.post("/findings/{finding_id:int}/dismiss")
def dismiss_finding(request: Request, finding_id: int, reason: str = Form(""),
                    user: PageUser = Depends(approver)):
    """Dismiss with a reason; it stays dismissed on later runs unless its figures change."""
    ctx = request.app.state.ctx
    with session_scope(ctx.engine) as session:
        dismiss(session, finding_id, reason)
    return RedirectResponse("/admin/findings?done=Finding+dismissed", status_code=303)


@router.post("/findings/{finding_id:int}/fix")
def fix_finding(request: Request, finding_id: int, user: PageUser = Depends(approver)):
    """Do the fix the report offers."""
    done = act_on(request.app.state.ctx, getattr(request.app.state, "runtime", None),
                  finding_id)
    return RedirectResponse(f"/admin/findings?done={done.message}", status_code=303)
