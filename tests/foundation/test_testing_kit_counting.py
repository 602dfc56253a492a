"""The test kit lets a plugin's counter be tested without the built-ins' database: alone
(``make_plugin_host(plugin, defaults=False)``) or beside the built-ins (``hub_counting``)."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import BaseModel

from hub import Connection, Counted, CountedItem, CountQuery, hookimpl
from hub.errors import PluginError


class _Settings(BaseModel):
    count_live: bool = False


class _Counter:
    """A counter that answers for every connection of plugin ``probe``."""

    @hookimpl
    def hub_count_assets(self, connection, query):
        if connection.plugin != "probe":
            return None
        return Counted(source=connection.name, items=(CountedItem(ref="probe:1", label="one"),))


QUERY = CountQuery(kind="assets", organisation_id=1, organisation_external_ids={"p": "1"},
                   period_start=dt.date(2026, 11, 1), period_end=dt.date(2026, 11, 30))
CONNECTION = Connection(name="p", plugin="probe", settings=_Settings())


def test_the_builtins_refuse_to_count_without_a_database(make_plugin_host):
    host = make_plugin_host(_Counter())
    with pytest.raises(PluginError, match="without a database"):
        host.hook.hub_count_assets(connection=CONNECTION, query=QUERY)


def test_a_plugin_alone_counts_without_a_database(make_plugin_host):
    host = make_plugin_host(_Counter(), defaults=False)
    assert [a.quantity for a in host.hook.hub_count_assets(connection=CONNECTION,
                                                           query=QUERY)] == [1]


def test_hub_counting_gives_the_builtins_an_empty_database(make_plugin_host, hub_counting):
    host = make_plugin_host(_Counter())
    answers = host.hook.hub_count_assets(connection=CONNECTION, query=QUERY)
    assert [a.source for a in answers] == ["p"]  # the stored counter knew nothing: None
