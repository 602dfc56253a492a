"""Fixtures for the billing tests: a hub context over a temporary SQLite database, a frozen
clock and a throwaway counter plugin standing in for an RMM/PSA/vendor."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from hub.host.context import HubContext
from hub.config import HubSettings
from hub.contract.connections import ConnectionType
from hub.db.engine import make_engine
from hub.db.models import metadata
from hub.contract.records import Counted, CountedItem
from hub.contract.hookspecs import hookimpl
from hub.host.plugins import build_plugin_host
from hub.testing.clock import FrozenClock


def _matches(record: dict[str, Any], filters: dict[str, Any]) -> bool:
    for key, wanted in filters.items():
        value = record.get(key.removeprefix("attributes."))
        if isinstance(wanted, list) and value not in wanted:
            return False
        if not isinstance(wanted, list) and value != wanted:
            return False
    return True


@dataclass(eq=False)  # compared by identity, as plugins are
class FakeCounters:
    """Answers the counter hooks from in-memory facts, as an RMM/PSA/vendor plugin would:
    ``devices[org_id]`` / ``users[org_id]`` are dicts with a ``ref`` and a ``label``;
    ``usage[org_id]`` items have ``sku`` and ``quantity``. Only answers for ``connection``."""

    connection: str = "rmm"
    devices: dict[int, list[dict]] = field(default_factory=dict)
    users: dict[int, list[dict]] = field(default_factory=dict)
    usage: dict[int, list[dict]] = field(default_factory=dict)
    calls: int = 0

    def _answer(self, facts, connection, query):
        if connection.name != self.connection:
            return None
        self.calls += 1
        items = tuple(CountedItem(ref=r["ref"], label=r["label"],
                                  quantity=str(r.get("quantity", "1")))
                      for r in facts.get(query.organisation_id, [])
                      if _matches(r, dict(query.filters)))
        return Counted(source=self.connection, items=items)

    @hookimpl
    def hub_count_assets(self, connection, query):
        return self._answer(self.devices, connection, query)

    @hookimpl
    def hub_count_licensed_users(self, connection, query):
        return self._answer(self.users, connection, query)

    @hookimpl
    def hub_fetch_vendor_usage(self, connection, query):
        return self._answer(self.usage, connection, query)


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FakeTypes:
    """Registers connection types for an RMM (counts), accounting and payments."""

    @hookimpl
    def hub_register_connection_types(self, register):
        register(ConnectionType("fake-rmm", _Settings, frozenset({"pull", "count"})))
        register(ConnectionType("fake-books", _Settings, frozenset({"accounting"})))
        register(ConnectionType("fake-pay", _Settings, frozenset({"payments"})))
        register(ConnectionType("fake-usage", _Settings, frozenset({"usage"})))


CONNECTIONS = [{"name": "rmm", "plugin": "fake-rmm"}, {"name": "books", "plugin": "fake-books"},
               {"name": "pay", "plugin": "fake-pay"}]


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock("2026-03-15T08:00:00+00:00")


@pytest.fixture
def counters() -> FakeCounters:
    return FakeCounters()


def make_context(url: str, data_dir, counters: FakeCounters, clock=None,
                 connections=CONNECTIONS, defaults=()) -> HubContext:
    engine = make_engine(url)
    metadata.create_all(engine)
    plugins = build_plugin_host(extra_plugins=[("fake-types", FakeTypes()),
                                               ("fake-counters", counters)],
                                load_entry_points=False, defaults=defaults)
    settings = HubSettings(data_dir=data_dir, connections=connections)
    return HubContext(settings=settings, engine=engine, plugins=plugins,
                      clock=clock or FrozenClock("2026-03-15T08:00:00+00:00"))


@pytest.fixture
def ctx(tmp_path, counters, clock) -> HubContext:
    context = make_context("sqlite:///" + str(tmp_path / "t.sqlite"), tmp_path, counters, clock)
    yield context
    context.engine.dispose()


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


@pytest.fixture
def make_ctx(counters):
    """``make_ctx(url, data_dir, clock=None)``: another context with the same fake counters."""
    made = []

    def factory(url, data_dir, clock=None):
        context = make_context(url, data_dir, counters, clock)
        made.append(context)
        return context

    yield factory
    for context in made:
        context.engine.dispose()
