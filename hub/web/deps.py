"""What every router depends on: the hub context and bearer-token authentication.

Routers write::

    from hub.web.deps import get_context, require_token

    router = APIRouter(prefix="/invoices", dependencies=[Depends(require_token)])

    @router.get("/{invoice_id}")
    def show(invoice_id: int, ctx: HubContext = Depends(get_context)): ...
"""

from __future__ import annotations

from typing import Any, Annotated

from fastapi import Depends, HTTPException, Path, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hub.audit import set_actor
from hub.host.context import HubContext
from hub.db.models.api_tokens import ApiToken
from hub.validation.fields import MAX_ID
from hub.web.tokens import verify_token

__all__ = ["get_context", "require_token", "RowId", "changes_given"]

#: A row id in a path: a number past what an id column holds names no record, and is refused
#: (422) before any query runs.
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]


def changes_given(body: Any) -> dict:
    """The fields a ``PATCH`` body sets, or a refusal (422 "nothing to change") when it sets
    none, as the CLI's ``edit`` commands refuse to run without an option (an empty edit would
    still be written to the audit trail). The service parses them again from plain values."""
    from hub.errors import ValidationFailed

    given = body.model_dump(exclude_unset=True)
    if not given:
        raise ValidationFailed("nothing to change", hint="send at least one of "
                               + ", ".join(type(body).model_fields))
    return given


_bearer = HTTPBearer(auto_error=False, description="a token made with `hub token create NAME`")


def get_context(request: Request) -> HubContext:
    """The :class:`~hub.host.context.HubContext` the app was created with (``app.state.ctx``)."""
    return request.app.state.ctx


def require_token(request: Request,
                  credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
                  ctx: HubContext = Depends(get_context)) -> ApiToken:
    """Refuse the request (401) unless it carries ``Authorization: Bearer <valid token>``.

    Returns the token row, so a handler can record who did what.
    """
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, headers=challenge,
                            detail="missing bearer token; create one with `hub token create NAME`")
    row = verify_token(ctx.engine, credentials.credentials)
    if row is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, headers=challenge,
                            detail="invalid, expired or revoked token; create one with "
                                   "`hub token create NAME`")
    if row.scope != "full" and request.method not in ("GET", "HEAD", "OPTIONS"):
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            detail=f"token {row.name!r} may only read; use a token made with "
                                   f"`hub token create NAME --scope full`")
    set_actor(f"token:{row.name}", "api")  # the audit trail names the token
    return row
