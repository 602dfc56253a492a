"""The web admin: server-rendered pages (Jinja2, htmx) for the billing team's daily loop.

:func:`install` adds to the hub's FastAPI app:

- the pages under ``/admin/`` (``GET /`` redirects there), each module of
  :mod:`hub.web.admin.routes` contributing one ``router``;
- the package's static files (vendored htmx, Pico CSS, Swagger UI) under ``/admin/static``,
  so nothing is loaded from the internet;
- ``/docs``: Swagger UI served from those static files (the API works offline too);
- a per-request audit actor (see :mod:`hub.audit.actor`), for the pages and the API alike.

Who may do what is in :mod:`hub.web.admin.security`; users are managed with ``hub user``.
"""

from hub.web.admin.app import install

__all__ = ["install"]
