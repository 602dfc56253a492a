"""Readiness: can this process serve real work? Database, broker and schema, each checked.

``/health`` stays a cheap liveness answer (the process runs); ``/health/ready`` runs these
checks and names every failing part, so a load balancer stops sending traffic and an operator
sees which service to look at.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

if TYPE_CHECKING:
    from hub.host.context import HubContext

__all__ = ["readiness", "CHECK_TIMEOUT_SECONDS"]

#: A check that takes longer than this counts as failing (the broker's socket timeouts).
CHECK_TIMEOUT_SECONDS = 3.0


def _short(exc: BaseException) -> str:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first}"[:300]


def check_database(ctx: "HubContext") -> str | None:
    """None when ``SELECT 1`` works, else why not. Tried twice: the first failure on a pooled
    connection the database dropped while it was away invalidates the pool."""
    problem = None
    for _ in range(2):
        try:
            with ctx.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return None
        except SQLAlchemyError as exc:
            problem = "unreachable: " + _short(exc)
    return problem


def check_migrations(ctx: "HubContext") -> str | None:
    """None when the database is at the packaged migrations' head(s), else what it is at."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from hub.db.migrate import alembic_config

    try:
        with ctx.engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    except SQLAlchemyError as exc:
        return "cannot read the schema version: " + _short(exc)
    heads = set(ScriptDirectory.from_config(
        alembic_config(ctx.settings.resolved_database_url)).get_heads())
    if current != heads:
        return (f"database at {sorted(current) or 'no revision'}, code at {sorted(heads)}: "
                "run `hub db upgrade`")
    return None


def check_broker(ctx: "HubContext") -> str | None:
    """None when the broker answers (always, for the in-process broker), else why not."""
    url = ctx.settings.broker_url
    if not url or url == "memory://":
        return None
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=CHECK_TIMEOUT_SECONDS,
                                  socket_timeout=CHECK_TIMEOUT_SECONDS)
    try:
        client.ping()
    except redis.exceptions.RedisError as exc:
        return "unreachable: " + _short(exc)
    finally:
        client.close()
    return None


def readiness(ctx: "HubContext") -> tuple[bool, dict[str, Any]]:
    """``(ready, answer)``: each part ``ok`` or why it fails, and the failing parts named."""
    checks = {"database": check_database(ctx)}
    checks["migrations"] = (check_migrations(ctx) if checks["database"] is None
                            else "not checked: the database is unreachable")
    checks["broker"] = check_broker(ctx)
    failing = [name for name, problem in checks.items() if problem is not None]
    answer = {"status": "ready" if not failing else "unavailable", "failing": failing,
              "checks": {name: problem or "ok" for name, problem in checks.items()}}
    return not failing, answer
