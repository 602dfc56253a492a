"""Build the HubContext the processes use (CLI, worker, web, scheduler)."""

from __future__ import annotations

from hub.app import HubContext
from hub.config import HubSettings

__all__ = ["build_context"]


def build_context(settings: HubSettings, **kwargs) -> HubContext:
    """A context whose connections keep durable, encrypted state in the database."""
    from hub.connection_state import DbConnectionState

    ctx = HubContext.from_settings(settings, **kwargs)
    ctx.state_factory = lambda c, name: DbConnectionState(c.engine, name, c.secret_box)
    return ctx
