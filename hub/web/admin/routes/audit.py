"""The audit trail as a filterable, paged list."""

from __future__ import annotations

from fastapi import Depends, Request

from hub.audit import list_events
from hub.db.engine import session_scope
from hub.web.admin.rendering import render
from hub.web.admin.routes import page_router
from hub.web.admin.security import PageUser, viewer

router = page_router()


@router.get("/audit")
def audit_list(request: Request, page: int = 1, actor: str = "", action: str = "",
               target_type: str = "", target_id: str = "", user: PageUser = Depends(viewer)):
    """Who did what and when; filter by who (prefix), action (prefix) and document."""
    ctx = request.app.state.ctx
    with session_scope(ctx.engine) as session:
        pg = list_events(session, actor=actor or None, action=action or None,
                         target_type=target_type or None, target_id=target_id or None,
                         page=page)
    return render(request, "audit.html", pg=pg, actor=actor, action=action,
                  target_type=target_type, target_id=target_id)
