"""The web side of the hub: webhooks in, REST API, OpenAPI docs (FastAPI).

Build the app with :func:`hub.web.app.create_app`; routers get the hub context and check the
bearer token through :mod:`hub.web.deps`.
"""
