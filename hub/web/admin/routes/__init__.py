"""The admin's pages: each module defines one ``router`` (see :func:`hub.web.admin.install`)."""

from fastapi import APIRouter

from hub.web.admin.security import AdminRoute

__all__ = ["page_router"]


def page_router() -> APIRouter:
    """A router whose routes handle sessions, CSRF and errors as pages do."""
    return APIRouter(route_class=AdminRoute)
