"""The organisations a billing chunk bills: their billing columns and their ids at each
connection, each read once per chunk."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable

from sqlalchemy import event, select
from sqlmodel import Session

from hub.db.models import Organisation, OrganisationMapping
from hub.db.sql import among

__all__ = ["organisation_rows", "organisations_with_mappings"]

#: Where a session keeps the organisation rows it has read (see organisation_rows).
_ORGANISATIONS = "hub.billing.organisations"


def organisation_rows(session: Session, ids: Iterable[int]) -> dict[int, Any]:
    """The organisations ``ids`` (those that exist) as ``(id, name, currency,
    payment_due_days, prices_include_tax)`` rows, each read once per session: a run reads a
    chunk's organisations for their names (left-outs, the store's wait) and then to bill them,
    one query instead of two per chunk. Forgotten when the session flushes or its transaction
    ends."""
    known: dict[int, Any] | None = session.info.get(_ORGANISATIONS)
    if known is None:
        known = session.info[_ORGANISATIONS] = {}
        # what the session writes, or a later transaction, is read afresh
        for name in ("after_flush", "after_transaction_end"):
            if not event.contains(session, name, _forget_organisations):
                event.listen(session, name, _forget_organisations)
    ids = set(ids)
    wanted = sorted(ids - known.keys())
    if wanted:
        ot = Organisation.__table__
        known.update((o.id, o) for o in session.execute(
            select(ot.c.id, ot.c.name, ot.c.currency, ot.c.payment_due_days,
                   ot.c.prices_include_tax).where(among(ot.c.id, wanted, session.connection()))))
    return {i: known[i] for i in ids if i in known}


def _forget_organisations(session: Session, *_: Any) -> None:
    session.info.pop(_ORGANISATIONS, None)


def organisations_with_mappings(session: Session, ids: Iterable[int]
                                ) -> tuple[dict[int, Any], dict[int, dict[str, str]]]:
    """The organisations ``ids`` (as :func:`organisation_rows`) and, for each, its id at
    each connection (``connection -> external id``)."""
    ids = sorted(set(ids))
    orgs = organisation_rows(session, ids)
    mappings: dict[int, dict[str, str]] = defaultdict(dict)
    mt = OrganisationMapping.__table__
    # Plain rows, not ORM objects: only three columns are read, once per chunk.
    for organisation_id, connection, external_id in session.execute(
            select(mt.c.organisation_id, mt.c.connection, mt.c.external_id).where(
                among(mt.c.organisation_id, ids, session.connection()))).all():
        mappings[organisation_id][connection] = external_id
    return orgs, mappings
