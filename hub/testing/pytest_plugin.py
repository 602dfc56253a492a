"""The hub's pytest plugin: fixtures for the hub's own tests and for plugin authors.

See :mod:`hub.testing` for the list. Service fixtures never silently pass: without
``HUB_TEST_POSTGRES_URL`` / ``HUB_TEST_REDIS_URL`` they skip, and with
``HUB_TEST_REQUIRE_SERVICES=1`` (CI) a missing or unreachable service is a failure.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Callable, Iterable, Iterator

import pytest

from hub.testing.clock import FrozenClock

POSTGRES_ENV = "HUB_TEST_POSTGRES_URL"
REDIS_ENV = "HUB_TEST_REDIS_URL"
REQUIRE_ENV = "HUB_TEST_REQUIRE_SERVICES"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres: needs PostgreSQL (HUB_TEST_POSTGRES_URL)")
    config.addinivalue_line("markers", "redis: needs Redis (HUB_TEST_REDIS_URL)")
    config.addinivalue_line("markers", "slow: a long end-to-end test")
    # Tests write e-mail addresses at the reserved test domain (ap@acme.test), which the hub's
    # address check (email-validator) refuses in production; this is the switch that library
    # offers test suites for it.
    import email_validator

    email_validator.TEST_ENVIRONMENT = True


def _service_url(env: str, what: str) -> str:
    url = os.environ.get(env)
    if not url:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{what} is required ({REQUIRE_ENV}=1) but {env} is not set")
        pytest.skip(f"{what} tests need {env}")
    return url


@pytest.fixture(autouse=True)
def _hub_service_markers(request: pytest.FixtureRequest) -> None:
    """A test marked postgres/redis gets the matching fixture, so the marker alone decides
    whether it skips (locally) or must run (CI). Asked per test, not added to the collected
    items' fixture names: the parameters of one test share that list, and marking one of them
    must not make the others skip."""
    if request.node.get_closest_marker("postgres"):
        request.getfixturevalue("hub_postgres_url")
    if request.node.get_closest_marker("redis"):
        request.getfixturevalue("hub_redis_url")


@pytest.fixture
def hub_clock() -> FrozenClock:
    """A clock frozen at 2026-01-01 09:00 UTC; move it with ``.advance(days=1)``."""
    return FrozenClock()


@pytest.fixture
def hub_sqlite_url(tmp_path: Path) -> str:
    """URL of a fresh SQLite file in the test's temporary directory."""
    return f"sqlite:///{(tmp_path / 'hub.sqlite').as_posix()}"


@pytest.fixture
def hub_engine(hub_sqlite_url: str):
    """An engine over a temporary SQLite database with every table created."""
    from hub.db.engine import make_engine
    from hub.db.models import metadata

    engine = make_engine(hub_sqlite_url)
    metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def hub_session(hub_engine):
    """A session on :func:`hub_engine` that keeps loaded rows readable after commit
    (``expire_on_commit=False``), so a test can commit and still assert on its objects."""
    from sqlmodel import Session

    with Session(hub_engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def hub_postgres_url() -> Iterator[str]:
    """A brand-new PostgreSQL database (dropped afterwards) on the server named by
    ``HUB_TEST_POSTGRES_URL``."""
    import sqlalchemy as sa

    from hub.db.engine import make_engine

    base = _service_url(POSTGRES_ENV, "PostgreSQL")
    name = f"hubtest_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        pytest.fail(f"PostgreSQL at {base} cannot be reached: {exc}")
    url = sa.engine.make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def hub_redis_url() -> Iterator[str]:
    """The Redis URL from ``HUB_TEST_REDIS_URL``, checked reachable. Use
    :func:`hub_redis_namespace` for keys so tests do not collide."""
    import redis

    url = _service_url(REDIS_ENV, "Redis")
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.fail(f"Redis at {url} cannot be reached: {exc}")
    finally:
        client.close()
    yield url


@pytest.fixture
def hub_redis_namespace(hub_redis_url: str) -> Iterator[str]:
    """A unique key prefix; every key under it is deleted afterwards."""
    import redis

    namespace = f"hubtest-{uuid.uuid4().hex[:12]}"
    yield namespace
    client = redis.Redis.from_url(hub_redis_url)
    keys = list(client.scan_iter(f"{namespace}*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def make_plugin_host() -> Callable[..., object]:
    """``make_plugin_host(plugin, ..., entry_points=False, defaults=True)``: a checked plugin
    host with throwaway plugins (modules or objects with ``@hookimpl`` functions).

    ``defaults=False`` leaves the host's built-ins out — the stored counter among them — so
    ``host.hook.hub_count_assets(...)`` answers with your plugin alone and needs no database
    (the stored counter refuses to count outside ``counting_from(engine)``). To keep the
    built-ins and give them an empty database instead, use :func:`hub_counting`."""
    from hub.host.plugins import DEFAULT_PLUGINS, build_plugin_host

    def factory(*plugins: object, entry_points: bool = False, defaults: bool = True):
        extra: Iterable[tuple[str, object]] = [
            (getattr(p, "__name__", None) or f"{type(p).__name__}-{i}", p)
            for i, p in enumerate(plugins)]
        return build_plugin_host(extra, load_entry_points=entry_points,
                                 defaults=DEFAULT_PLUGINS if defaults else ())

    return factory


@pytest.fixture
def hub_counting(hub_engine):
    """For the whole test, counter hooks read the empty temporary database :func:`hub_engine`:
    the built-in stored counter knows no organisation and answers ``None``, so a counter hook
    called on a host *with* the built-ins returns your plugin's answers only. Yields the engine
    (pull into it to test your plugin beside the stored counter)."""
    from hub.sources.stored_counters import counting_from

    with counting_from(hub_engine):
        yield hub_engine


@pytest.fixture
def make_hub_context(tmp_path: Path, hub_engine, hub_clock, make_plugin_host):
    """``make_hub_context(*plugins, connections=[...], **settings)``: a HubContext over the
    temporary database, the frozen clock and the given throwaway plugins."""
    from hub.host.context import HubContext
    from hub.config import HubSettings

    def factory(*plugins: object, connections: list[dict] | None = None, **settings):
        cfg = HubSettings(data_dir=tmp_path / "data", connections=connections or [], **settings)
        return HubContext(settings=cfg, engine=hub_engine, plugins=make_plugin_host(*plugins),
                          clock=hub_clock)

    return factory


@pytest.fixture
def stub_broker():
    """dramatiq's StubBroker, set as the global broker, with a running Worker; after the test
    the worker stops and the previous broker is restored. ``stub_broker.join(queue)`` waits
    and re-raises a dead-lettered failure."""
    import dramatiq
    import dramatiq.broker
    from dramatiq.brokers.stub import StubBroker

    # Read the module global directly: get_broker() would create a RabbitMQ broker if unset.
    previous = dramatiq.broker.global_broker
    broker = StubBroker()
    broker.emit_after("process_boot")
    dramatiq.set_broker(broker)
    worker = dramatiq.Worker(broker, worker_timeout=50, worker_threads=2)
    worker.start()
    broker.worker = worker  # type: ignore[attr-defined]
    yield broker
    worker.stop()
    broker.close()
    if previous is not None:
        dramatiq.set_broker(previous)


_service_outcomes: dict[str, dict[str, int]] = {"postgres": {}, "redis": {}}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        for marker in _service_outcomes:
            if item.get_closest_marker(marker):
                counts = _service_outcomes[marker]
                counts[report.outcome] = counts.get(report.outcome, 0) + 1


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """Say how many tests really ran against PostgreSQL and Redis (CI must show them run)."""
    if not any(_service_outcomes.values()):
        return
    terminalreporter.section("hub services")
    for marker, label in (("postgres", "PostgreSQL"), ("redis", "Redis")):
        counts = _service_outcomes[marker]
        terminalreporter.write_line(
            f"{label}: {counts.get('passed', 0)} passed, {counts.get('failed', 0)} failed, "
            f"{counts.get('skipped', 0)} skipped")
