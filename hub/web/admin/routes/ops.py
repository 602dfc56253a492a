"""Jobs and connections: failed jobs with replay (approver); each connection's state, last
pull and push, failed jobs, and the Xero connect button (admin: OAuth consent)."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from hub import audit
from hub.db.engine import session_scope
from hub.db.models import JobRecord, OutboxEntry, OutboxStatus
from hub.errors import NotFound, ValidationFailed
from hub.web.admin.paging import paginate
from hub.web.admin.rendering import render
from hub.web.admin.routes import page_router
from hub.web.admin.routes.home import connection_rows
from hub.web.admin.security import PageUser, admin, approver, viewer

router = page_router()

#: Plugins whose connections are connected through an OAuth consent in the browser.
CONSENT_PLUGINS = ("xero",)


def _runtime(request: Request):
    runtime = getattr(request.app.state, "runtime", None)
    if runtime is None:
        raise ValidationFailed("this web process has no job runtime",
                               hint="replay with `hub jobs retry ID`")
    return runtime


@router.get("/jobs")
def jobs(request: Request, page: int = 1, status: str = "failed", connection: str = "",
         user: PageUser = Depends(viewer)):
    """Recorded jobs (failed ones first by default) and the documents still waiting to sync."""
    ctx = request.app.state.ctx
    query = select(JobRecord).order_by(JobRecord.id.desc())
    if status:
        query = query.where(JobRecord.status == status)
    if connection:
        query = query.where(JobRecord.connection == connection)
    waiting_query = select(OutboxEntry).where(OutboxEntry.status.in_(
        [OutboxStatus.pending, OutboxStatus.failed])).order_by(OutboxEntry.id.desc()).limit(50)
    with session_scope(ctx.engine) as session:
        pg = paginate(session, query, page, scalars=True)
        waiting = session.execute(waiting_query).scalars().all()
    return render(request, "jobs.html", pg=pg, status=status, connection=connection,
                  waiting=waiting, connections=[c.name for c in ctx.settings.connections])


@router.post("/jobs/{job_id:int}/replay")
def replay(request: Request, job_id: int, user: PageUser = Depends(approver)):
    """Replay a failed job (its outbox row or inbox event is reopened, or it is re-sent)."""
    from hub.jobs.records import retry_job

    record = retry_job(_runtime(request), job_id)
    return RedirectResponse(f"/admin/jobs?done=Job+{job_id}+({record.actor})+replayed",
                            status_code=303)


@router.get("/connections")
def connections(request: Request, user: PageUser = Depends(viewer)):
    """Each connection: plugin, what it does, last pull and push, failed jobs, staleness."""
    ctx = request.app.state.ctx
    rows = connection_rows(ctx, getattr(request.app.state, "runtime", None))
    for row in rows:
        row["consent"] = ctx.settings.connection(row["name"]).plugin in CONSENT_PLUGINS
    return render(request, "connections.html", rows=rows)


@router.post("/connections/{name}/connect")
def connect(request: Request, name: str, user: PageUser = Depends(admin)):
    """Start the OAuth consent of a connection: the browser goes to the vendor and comes back
    to the plugin's callback, which stores the tokens."""
    ctx = request.app.state.ctx
    config = next((c for c in ctx.settings.connections if c.name == name), None)
    if config is None:  # an address naming no connection: not a configuration error
        raise NotFound(f"connection {name[:40]!r} does not exist",
                       hint="the connections page lists them")
    if config.plugin not in CONSENT_PLUGINS:
        raise ValidationFailed(f"connection {name!r} ({config.plugin}) is not connected by "
                               "consent in the browser", hint="its settings are in hub.toml")
    from hub_accounting_xero.auth import authorize_url

    url = authorize_url(ctx.connection(name))
    with session_scope(ctx.engine) as session:
        audit.record(session, "connection.consent_started", "connection", name,
                     summary=f"{config.plugin} OAuth consent started")
    return RedirectResponse(url, status_code=303)
