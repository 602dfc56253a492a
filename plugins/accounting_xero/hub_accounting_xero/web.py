"""The OAuth callback: ``GET /plugins/xero/callback?code=...&state=...``.

Xero sends the browser here after consent. The ``state`` names the connection and must match
the one :func:`hub_accounting_xero.auth.authorize_url` stored; the code is exchanged for tokens,
which go into the connection's state encrypted (``secret=True``), and the organisation is
chosen through /connections. The route needs no hub API token (a browser follows it), the
``state`` check is what protects it.
"""

from __future__ import annotations

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from hub import HubError, owns

from hub_accounting_xero.auth import TENANT, connection_name_of_state, exchange_code

__all__ = ["register", "CALLBACK_PATH"]

CALLBACK_PATH = "/xero/callback"


def register(router: APIRouter) -> None:
    """Add the callback route (the host mounts ``router`` under ``/plugins``)."""

    @router.get(CALLBACK_PATH, name="xero_oauth_callback")
    def xero_callback(request: Request, state: str, code: str | None = None,
                      error: str | None = None) -> JSONResponse:
        """Finish connecting a Xero connection after the user's consent."""
        name = connection_name_of_state(state)
        if error or not code:
            return JSONResponse({"detail": f"Xero did not grant access ({error or 'no code'}); "
                                           f"run `hub connect xero {name}` to try again"},
                                status_code=400)
        try:
            connection = request.app.state.ctx.connection(name)
            if not owns(connection, "xero"):
                return JSONResponse({"detail": f"connection {name!r} is not a xero connection"},
                                    status_code=400)
            with httpx.Client() as http:
                exchange_code(connection, http, code, state)
        except HubError as exc:
            return JSONResponse({"detail": exc.user_message()}, status_code=400)
        return JSONResponse({"connection": name, "status": "connected",
                             "tenant_id": connection.state.get(TENANT)})
