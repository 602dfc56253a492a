"""Transaction-scoped locks for the checks that read before they write.

A check such as "no other organisation has this name" reads committed rows; on PostgreSQL two
transactions can both pass it before either commits, and both write. Such a check holds an
advisory lock of its own until its transaction ends, so the second waits for the first and
then sees its row. SQLite needs none: the hub's engine begins every transaction with ``BEGIN
IMMEDIATE``, which already lets one writer in at a time.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

__all__ = ["serialise", "ORGANISATION_NAMES"]

#: First key of these two-key advisory locks (``hub.billing.batch_lease`` uses 16016), so
#: they never meet another application's.
NAMESPACE = 16_017
#: Second key: creating or renaming an organisation (its name must be free).
ORGANISATION_NAMES = 1


def serialise(session: Session, key: int) -> None:
    """Wait for, then hold until the transaction ends, the lock ``key`` (PostgreSQL only)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:namespace, :key)"),
                        {"namespace": NAMESPACE, "key": key})
