"""Who is filling a preview batch: a lease held for as long as the preview runs, released by
the operating system or the database when its process dies.

A preview batch without ``filled_at`` is either being filled right now or was left behind by
a preview that crashed (``kill -9``). The lease tells them apart without guessing from
timestamps: on PostgreSQL it is a session advisory lock (dropped with the connection); on SQLite
a ``flock`` on a file next to the data (dropped with the process). Whoever takes the lease of a
left-behind batch completes it; a batch whose lease is held is left to its owner.
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import text

__all__ = ["try_lease", "LEASE_NAMESPACE"]

#: First key of the two-key advisory lock, so the hub's leases never meet another app's.
LEASE_NAMESPACE = 16_016


@contextmanager
def try_lease(engine: Any, data_dir: Path, batch_id: int) -> Iterator[bool]:
    """Take the lease of ``batch_id`` for the block; yields False if another process holds
    it (then nothing is held)."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:ns, :id)"),
                               {"ns": LEASE_NAMESPACE, "id": batch_id}).scalar()
            conn.commit()
            try:
                yield bool(got)
            finally:
                if got:
                    conn.execute(text("SELECT pg_advisory_unlock(:ns, :id)"),
                                 {"ns": LEASE_NAMESPACE, "id": batch_id})
                    conn.commit()
        return
    database = engine.url.database
    if database and database != ":memory:":
        # Next to the database file: every process using that file sees the same lock.
        path = Path(database).with_name(f"{Path(database).name}.batch-{batch_id}.lock")
    else:
        path = Path(data_dir) / f"hub.batch-{batch_id}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
