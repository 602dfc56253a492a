"""Who is acting, for the audit trail: a context variable each door sets once.

The variable holds a mutable :class:`Actor` box: the web app puts a fresh box in place for each
request (an ASGI middleware, in the request's own task), and the authentication dependency fills
it in later. FastAPI runs sync handlers and dependencies in worker threads that get a *copy* of
the context, so a plain value set by a dependency would never reach the handler; a shared box
does.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Iterator

__all__ = ["Actor", "acting_as", "current_actor", "set_actor", "SYSTEM"]

#: The actor of changes no person asked for (jobs, webhooks, the scheduler).
SYSTEM = "system"


@dataclass
class Actor:
    """``name`` like ``user:ann`` or ``token:ci``; ``via`` is web, api, cli or system."""

    name: str = SYSTEM
    via: str = "system"


_actor: ContextVar[Actor | None] = ContextVar("hub_audit_actor", default=None)


def current_actor() -> Actor:
    """The actor of the running request or command (``system`` when nobody said)."""
    return _actor.get() or Actor()


def set_actor(name: str, via: str) -> Actor:
    """Say who is acting from here on: fills the current box, or puts a new one in place."""
    box = _actor.get()
    if box is None:
        box = Actor(name, via)
        _actor.set(box)
    else:
        box.name, box.via = name, via
    return box


@contextmanager
def acting_as(name: str = SYSTEM, via: str = "system") -> Iterator[Actor]:
    """A fresh actor box for the block (one per web request; tests)."""
    token = _actor.set(Actor(name, via))
    try:
        yield _actor.get()
    finally:
        _actor.reset(token)
