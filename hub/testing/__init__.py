"""Test kit for the hub and for plugin authors.

Installed with the hub as a pytest plugin (entry point ``pytest11: hub``), so any plugin's test
suite gets these fixtures without a conftest:

- ``hub_clock`` — a controllable clock (:class:`FrozenClock`);
- ``hub_engine`` — a temporary SQLite database with every table;
- ``hub_session`` — a session on it that keeps rows readable after commit;
- ``hub_postgres_url`` / ``hub_redis_url`` — a fresh PostgreSQL database or Redis namespace,
  from ``HUB_TEST_POSTGRES_URL`` / ``HUB_TEST_REDIS_URL`` (skipped when unset, *failed* when
  ``HUB_TEST_REQUIRE_SERVICES=1``, as CI sets it);
- ``make_plugin_host`` — a plugin host with throwaway plugins registered;
  ``make_plugin_host(my_plugin, defaults=False)`` holds your plugin *alone* (no built-ins), so
  its counter hooks can be called without any database;
- ``hub_counting`` — counter hooks in the test read an empty temporary database, so the
  built-in stored counter answers ``None`` instead of refusing (test a plugin beside the
  built-ins, or pull into ``hub_engine`` first to count stored rows too);
- ``make_hub_context`` — a :class:`hub.host.context.HubContext` over a temporary database;
- ``stub_broker`` — dramatiq's ``StubBroker`` with a running ``Worker``.

And for sandbox vendor servers: :class:`SandboxServer` runs any ASGI app on 127.0.0.1 on a free
port in a background thread, so a plugin's real HTTP client talks to it over real sockets;
:class:`FakeDistribution` installs a throwaway plugin found through real entry points;
:mod:`hub.testing.vendors` has ``serve_sandbox`` (a connector's sandbox with its control, on a
free port) and ``assert_matches_schema`` (a record against the vendor's OpenAPI schema);
:mod:`hub.testing.isolation` keeps a test session from loading plugins it did not install.
"""

from hub.testing.clock import FrozenClock
from hub.testing.distributions import FakeDistribution
from hub.testing.sandbox import SandboxServer, free_port

__all__ = ["FakeDistribution", "FrozenClock", "SandboxServer", "free_port"]
