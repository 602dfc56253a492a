"""The OAuth callback: ``GET /plugins/quickbooks/callback?code=...&state=...&realmId=...``.

Intuit sends the browser here after consent. The ``state`` names the connection and must match
the one :func:`hub_accounting_quickbooks.auth.authorize_url` stored; the code is exchanged for
tokens, stored encrypted in the connection's state with the company (``realmId``). The route
needs no hub API token (a browser follows it); the ``state`` check is what protects it.
"""

from __future__ import annotations

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from hub import HubError, owns

from hub_accounting_quickbooks.auth import REALM, connection_name_of_state, exchange_code

__all__ = ["register", "CALLBACK_PATH"]

CALLBACK_PATH = "/quickbooks/callback"


def register(router: APIRouter) -> None:
    """Add the callback route (the host mounts ``router`` under ``/plugins``)."""

    @router.get(CALLBACK_PATH, name="quickbooks_oauth_callback")
    def quickbooks_callback(request: Request, state: str, code: str | None = None,
                            realmId: str | None = None, error: str | None = None) -> JSONResponse:  # noqa: N803 - Intuit's name
        """Finish connecting a QuickBooks connection after the user's consent."""
        name = connection_name_of_state(state)
        if error or not code or not realmId:
            return JSONResponse({"detail": f"Intuit did not grant access ({error or 'no code'}); "
                                           f"run `hub connect quickbooks {name}` to try again"},
                                status_code=400)
        try:
            connection = request.app.state.ctx.connection(name)
            if not owns(connection, "quickbooks"):
                return JSONResponse({"detail": f"connection {name!r} is not a quickbooks "
                                               "connection"}, status_code=400)
            with httpx.Client() as http:
                exchange_code(connection, http, code, state, realmId)
        except HubError as exc:
            return JSONResponse({"detail": exc.user_message()}, status_code=400)
        return JSONResponse({"connection": name, "status": "connected",
                             "realm_id": connection.state.get(REALM)})
