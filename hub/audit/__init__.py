"""The audit trail: who did what, when, through which door.

Every state change calls :func:`record` inside its own transaction::

    from hub import audit
    audit.record(session, "batch.confirmed", "batch", batch_id, summary="12 invoices")

Who is acting is not passed down through every service: each door says it once —
the CLI (``cli:<os user>``), the REST API (``token:<name>``), the web admin (``user:<name>``) —
with :func:`acting_as` or :func:`set_actor`, and :func:`record` reads it. Anything else (jobs,
webhooks) is ``system``. The trail is append-only; :func:`list_events` pages through it.
"""

from typing import TYPE_CHECKING

from hub.audit.actor import Actor, acting_as, current_actor, set_actor

if TYPE_CHECKING:
    from hub.audit.trail import EventPage, list_events, record

__all__ = ["Actor", "acting_as", "current_actor", "set_actor", "record", "list_events",
           "EventPage"]

#: Served from :mod:`hub.audit.trail` on first access (PEP 562): the trail needs the ORM
#: (SQLAlchemy and every table, about 0.6 s to import), and every ``hub`` command sets the actor
#: through this package before it knows whether it will write anything.
_TRAIL = ("record", "list_events", "EventPage")


def __getattr__(name: str):
    if name in _TRAIL:
        from hub.audit import trail

        return getattr(trail, name)
    raise AttributeError(f"module 'hub.audit' has no attribute {name!r}")
