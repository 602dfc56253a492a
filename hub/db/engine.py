"""Engines and sessions for SQLite (embedded default) and PostgreSQL (production)."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import orjson
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

from hub.errors import ConfigError

__all__ = ["make_engine", "session_scope", "normalise_url", "JSON_OPTIONS", "dumps_json"]


def dumps_json(value: object) -> str:
    """A JSON column's text: orjson's compact form (a billing run writes a JSON value for
    every line and invoice, and ``json.dumps`` was 5 us of each against orjson's 0.8 us).
    Keys that are not strings are written as strings, as ``json.dumps`` writes them."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


#: How every engine of the hub writes and reads its JSON columns.
JSON_OPTIONS = {"json_serializer": dumps_json, "json_deserializer": orjson.loads}


#: Where the URL comes from and what it may be, said in every refusal of one.
_URL_SETTING = "database_url (HUB_DATABASE_URL or hub.toml)"
_URL_FORMS = "use sqlite:///path/to/hub.sqlite or postgresql://user:password@host/dbname"


def normalise_url(url: str) -> str:
    """Use psycopg 3 for ``postgresql://`` URLs; leave other SQLite and PostgreSQL URLs alone.
    Anything else (no URL at all, MySQL) is a ``ConfigError`` naming the setting: SQLAlchemy's
    own errors would say neither which setting nor what to write."""
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        # Only the scheme is repeated: the rest may hold a password.
        shown = f"{url.partition('://')[0]}://..." if "://" in url else repr(url)
        raise ConfigError(f"{_URL_SETTING} {shown} is not a database URL",
                          hint=_URL_FORMS) from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError(f"{_URL_SETTING} {parsed.render_as_string(hide_password=True)} is "
                          f"a {parsed.get_backend_name()} database; the hub runs on SQLite or "
                          "PostgreSQL", hint=_URL_FORMS)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, **kwargs) -> Engine:
    """An engine for ``url``. SQLite gets WAL, foreign keys and a busy timeout so the web
    server, the worker threads and the CLI can share one file."""
    url = normalise_url(url)
    parsed = make_url(url)
    for option, default in JSON_OPTIONS.items():
        kwargs.setdefault(option, default)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            # Autocommit off in the driver; SQLAlchemy emits BEGIN itself (see below) so that
            # write transactions take the lock up front instead of failing half-way.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    from sqlalchemy.exc import NoSuchModuleError

    try:
        return create_engine(url, **kwargs)
    except (NoSuchModuleError, ModuleNotFoundError) as exc:  # postgresql+asyncpg, no driver
        raise ConfigError(f"{_URL_SETTING} {parsed.render_as_string(hide_password=True)} "
                          f"needs a driver the hub does not have ({exc})",
                          hint=_URL_FORMS) from None


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error: nothing half-written."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
