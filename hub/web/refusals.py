"""How the web side answers a refusal: one status per kind of :class:`~hub.errors.HubError`, and
one body (:class:`ErrorBody`) documented on every route. The REST API and the admin pages share
it, so a refusal has the same status in both."""

from __future__ import annotations

from pydantic import BaseModel

from hub.errors import (
    ConfigError, DocumentRefused, HubError, NotFound, PluginError, ValidationFailed,
)

__all__ = ["ErrorBody", "ERROR_RESPONSES", "ERROR_STATUS", "status_of", "not_storable_message"]


class ErrorBody(BaseModel):
    """Every refusal's body: one line saying what is wrong and what to do, and its kind."""

    detail: str
    error: str = ""


#: Documented on every route, so the OpenAPI says what a refusal looks like.
ERROR_RESPONSES: dict[int | str, dict] = {
    code: {"model": ErrorBody, "description": text} for code, text in (
        (400, "refused"), (401, "missing, invalid, expired or revoked token"),
        (403, "the token's scope does not allow this"), (404, "no such record"),
        (409, "the record's status forbids this change"),
        (422, "invalid input; nothing was stored"), (502, "a plugin failed"))}

#: How each refusal is answered; anything else that is a HubError is a 400.
ERROR_STATUS: tuple[tuple[type[HubError], int], ...] = (
    (NotFound, 404), (ValidationFailed, 422), (DocumentRefused, 409), (ConfigError, 400),
    (PluginError, 502),
)


def status_of(exc: HubError) -> int:
    """The HTTP status a refusal is answered with (the REST API and the pages alike)."""
    for kind, code in ERROR_STATUS:
        if isinstance(exc, kind):
            return code
    return 400


def not_storable_message(exc: Exception, what: str = "a value in the request") -> str:
    """The one-line refusal of a value the database cannot store (SQLAlchemy's ``DataError``:
    on PostgreSQL a text with a NUL character, a number past a column's range), naming the
    database's reason; the API, the admin pages and the CLI answer it as bad input."""
    reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
    return (f"{what} cannot be stored ({reason}); nothing was stored — "
            "remove control characters such as NUL from texts and keep numbers within their "
            "limits")
