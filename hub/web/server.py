"""Serve the web app with uvicorn (``hub serve``; ``hub run`` runs it in a thread)."""

from __future__ import annotations

import uvicorn

from hub.web.app import create_app

__all__ = ["make_server", "UVICORN_LOG_LEVEL"]

#: uvicorn's own logging; the hub logs requests that matter itself.
UVICORN_LOG_LEVEL = "warning"


def make_server(ctx, runtime=None, *, host: str | None = None, port: int | None = None,
                access_log: bool = False) -> uvicorn.Server:
    """A uvicorn server for the hub app on ``settings.web`` (or the given host/port)."""
    app = create_app(ctx, runtime)
    web = ctx.settings.web
    # uvicorn's ProxyHeadersMiddleware takes the scheme and client address from the trusted
    # proxies' X-Forwarded-* headers only, so behind a TLS proxy the request is https
    config = uvicorn.Config(app, host=host or web.host, port=port or web.port,
                            log_level=UVICORN_LOG_LEVEL, access_log=access_log, lifespan="off",
                            proxy_headers=True,
                            forwarded_allow_ips=",".join(web.trusted_proxies) or "")
    return uvicorn.Server(config)
