"""Read-only access to the hub's database, for long reads that must not hold up writers.

:func:`read_only` opens the hub's database so that nothing can be written: on SQLite a separate
engine over the same file with ``PRAGMA query_only`` and no ``BEGIN IMMEDIATE`` (the hub's
engine takes the write lock at the start of every transaction, reads included; a reader's
transaction in WAL mode waits for no writer and holds up none), made once per hub engine; on
PostgreSQL read-only transactions. Reconciliation reads through it, and a billing run reads
its next chunk through it while the previous chunk's drafts are being stored.
"""

from __future__ import annotations

import threading
import weakref
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

from hub.db.engine import JSON_OPTIONS

__all__ = ["read_only", "separate_reader"]


def separate_reader(engine: Engine) -> Engine | None:
    """The read-only twin of a SQLite file database's engine (reads on their own connections,
    concurrent with a writer), ``None`` for other databases: PostgreSQL reads never wait for
    writers, and a private in-memory SQLite database cannot be opened twice."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return _sqlite_reader(engine)


@contextmanager
def read_only(engine: Engine) -> Iterator[Engine]:
    """An engine over ``engine``'s database that cannot write (see module docstring)."""
    if engine.url.get_backend_name() == "sqlite":
        # A private in-memory database cannot be reopened: read through the hub's engine.
        yield separate_reader(engine) or engine
        return
    yield engine.execution_options(postgresql_readonly=True)


#: Page cache of a read-only connection, in KiB (SQLite's default is 2,000). Reads through it
#: stream (a report, a billing run's next chunk): each page is read once or a few times, and
#: the index pages that are read again stay among the most recent. A larger cache only costs
#: memory that a fresh process must fault in page by page (about 3 us a page on a virtual
#: machine): a 10,000-document reconciliation touched 1,200 pages fewer with this one and took
#: a tenth less time; a million-document one took as long (issue #21).
READER_CACHE_KIB = 256

#: The read-only twin of each SQLite engine, made once and kept as long as that engine (a
#: new engine per report meant a new connection that parses the schema again, and statements
#: compiled again: SQLAlchemy's compiled cache is per engine). It is disposed with its engine.
_readers: "weakref.WeakKeyDictionary[Engine, Engine]" = weakref.WeakKeyDictionary()
_readers_lock = threading.Lock()


def _sqlite_reader(engine: Engine) -> Engine:
    """``engine``'s read-only twin (``PRAGMA query_only`` on each of its connections)."""
    with _readers_lock:
        reader = _readers.get(engine)
        if reader is not None:
            return reader
        reader = create_engine(engine.url, **JSON_OPTIONS,
                               connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(reader, "connect")
        def _query_only(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA query_only=ON")
            cursor.execute(f"PRAGMA cache_size=-{READER_CACHE_KIB}")
            cursor.close()

        @event.listens_for(engine, "engine_disposed")
        def _dispose_reader(_engine):
            reader.dispose()

        _readers[engine] = reader
        return reader
