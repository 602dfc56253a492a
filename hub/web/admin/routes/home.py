"""Home: what needs attention today."""

from __future__ import annotations

import datetime as dt

from fastapi import Depends, Request
from sqlalchemy import func, select

from hub.db.engine import session_scope
from hub.db.models import (
    BatchStatus, BillingBatch, Invoice, InvoiceStatus, JobRecord, JobStatus, OutboxEntry,
    OutboxStatus,
)
from hub.errors import HubError
from hub.web.admin.findings_store import open_findings_count
from hub.web.admin.rendering import render
from hub.web.admin.routes import page_router
from hub.web.admin.security import PageUser, viewer

router = page_router()

#: A connection whose last pull is older than this is shown as stale.
STALE_PULL = dt.timedelta(days=2)

_OPEN = (InvoiceStatus.unpaid, InvoiceStatus.pending, InvoiceStatus.partially_paid,
         InvoiceStatus.overdue)


def connection_rows(ctx, runtime=None) -> list[dict]:
    """Each configured connection with its last pull and push, failed jobs and staleness."""
    from hub.jobs.status import hub_status

    status = hub_status(ctx, runtime)
    now = ctx.clock()
    with session_scope(ctx.engine) as session:
        failed = dict(session.execute(select(JobRecord.connection, func.count()).where(
            JobRecord.status == JobStatus.failed).group_by(JobRecord.connection)).all())
    rows = []
    for name, info in status["connections"].items():
        config = ctx.settings.connection(name)
        try:
            capabilities = sorted(ctx.plugins.connection_type(config.plugin).capabilities)
        except HubError as exc:  # a plugin that is not installed: show it, do not fail the page
            capabilities, info = [], {**info, "error": str(exc)}
        last_pull = info.get("last_pull")
        stale = False
        if last_pull and "pull" in capabilities:
            when = dt.datetime.fromisoformat(last_pull)
            when = when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)
            stale = now - when > STALE_PULL
        rows.append({"name": name, **info, "capabilities": capabilities,
                     "failed_jobs": failed.get(name, 0), "stale": stale})
    return rows


@router.get("/")
def home(request: Request, user: PageUser = Depends(viewer)):
    """Batches waiting, failed jobs, unsynced documents, connection trouble, overdue invoices,
    open findings."""
    ctx = request.app.state.ctx
    today = ctx.today()
    with session_scope(ctx.engine) as session:
        waiting = session.execute(select(BillingBatch).where(
            BillingBatch.status == BatchStatus.preview).order_by(BillingBatch.id.desc())
            .limit(10)).scalars().all()
        failed_jobs = session.execute(select(func.count()).select_from(JobRecord).where(
            JobRecord.status == JobStatus.failed)).scalar_one()
        unsynced = dict(session.execute(select(OutboxEntry.status, func.count()).where(
            OutboxEntry.status.in_([OutboxStatus.pending, OutboxStatus.failed]))
            .group_by(OutboxEntry.status)).all())
        overdue = session.execute(select(func.count()).select_from(Invoice).where(Invoice.status.in_(_OPEN), Invoice.due_date < today,
                                         Invoice.deleted_at.is_(None))).scalar_one()
        findings = open_findings_count(session)
    connections = connection_rows(ctx, getattr(request.app.state, "runtime", None))
    troubled = [c for c in connections if c["stale"] or c["failed_jobs"] or c.get("error")]
    return render(request, "home.html", waiting=waiting, failed_jobs=failed_jobs,
                  unsynced=unsynced, overdue_count=overdue, findings=findings,
                  troubled=troubled, today=today)
