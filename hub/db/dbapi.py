"""Plain DB-API connections, for the few reads that must not import SQLAlchemy.

``hub status`` runs in a fresh process each time and has to answer in a fraction of a second;
importing SQLAlchemy and the ORM tables costs several times that (issue #21, measured with
``python -X importtime``: about 0.2 s for SQLAlchemy alone, 0.65 s with the tables). So its
handful of aggregate queries are plain SQL on a driver connection made here: the standard
library's ``sqlite3`` for SQLite, ``psycopg`` (the driver the engine uses too) for PostgreSQL.
Any other URL (another driver, SQLite URL options) takes the engine's own raw connection, so it
is still read, only without the saving.

The driver's own errors are turned into the same one-line refusals as SQLAlchemy's
(:func:`driver_refusal`, used by the CLI's error boundary).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from hub.errors import ConfigError, ConnectorError, HubError

__all__ = ["connect", "not_set_up", "unreachable", "driver_refusal"]


def connect(url: str) -> tuple[Any, str]:
    """A DB-API connection to the hub database at ``url`` (as written in the settings) and its
    driver's ``paramstyle`` (``qmark`` or ``pyformat``). The caller closes it."""
    scheme, _, rest = url.partition("://")
    backend = scheme.split("+", 1)[0]
    if backend == "sqlite" and "?" not in rest:
        import sqlite3

        # "sqlite:///relative/path" and "sqlite:////absolute/path", as SQLAlchemy reads them
        path = unquote(rest[1:] if rest.startswith("/") else rest) or ":memory:"
        if path != ":memory:":
            # as hub.db.engine.make_engine does: a missing file is then "not set up", not
            # "cannot be opened"
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # the engine's busy timeout: a writer holding the lock is waited for, not an error
        return sqlite3.connect(path, timeout=30), sqlite3.paramstyle
    if backend in ("postgresql", "postgres") and scheme in (backend, f"{backend}+psycopg"):
        import psycopg

        # libpq reads the URL itself (user, password, host, port, database, options)
        return psycopg.connect(f"postgresql://{rest}"), psycopg.paramstyle
    from hub.db.engine import make_engine

    engine = make_engine(url)
    return engine.raw_connection(), engine.dialect.paramstyle


def not_set_up(text: str) -> HubError:
    """The refusal for a database whose tables are missing (never migrated, or behind)."""
    return ConfigError(f"the database is not set up or not upgraded ({text})",
                       hint="run `hub db upgrade`")


def unreachable(text: str) -> HubError:
    """The refusal for a database that cannot be opened or reached."""
    return ConnectorError(f"the database cannot be reached ({text})",
                          hint="check [database] url in hub.toml and that the server runs")


def driver_refusal(exc: BaseException) -> HubError | None:
    """A ``sqlite3`` or ``psycopg`` error a user can fix, as a hub error; None for anything else.

    The same mapping as the CLI's for SQLAlchemy's wrapped errors: a missing table or column
    means ``hub db upgrade``; any other operational error means the database is unreachable.
    The drivers are looked up in ``sys.modules``: an error of a driver never imported cannot
    have been raised.
    """
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    sqlite3 = sys.modules.get("sqlite3")
    if sqlite3 is not None and isinstance(exc, sqlite3.OperationalError):
        if "no such table" in text or "no such column" in text:
            return not_set_up(text)
        return unreachable(text)
    psycopg = sys.modules.get("psycopg")
    if psycopg is not None and isinstance(exc, psycopg.Error):
        if isinstance(exc, (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn)):
            return not_set_up(text)
        if isinstance(exc, psycopg.OperationalError):
            return unreachable(text)
    return None
