"""DbConnectionState: JSON values, encrypted secrets, atomic compare_and_set on SQLite and
PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from hub.host.connection_state import DbConnectionState
from hub.db.engine import make_engine, session_scope
from hub.db.models import ConnectionStateEntry, metadata
from hub.host.secrets import SecretBox

BOX = SecretBox(Fernet.generate_key())


def check_state(engine) -> None:
    state = DbConnectionState(engine, "xero", BOX)
    other = DbConnectionState(engine, "stripe", BOX)
    assert state.get("cursor") is None and state.get("cursor", 5) == 5
    state.set("cursor", {"page": 2, "ids": [1, 2]})
    assert state.get("cursor") == {"page": 2, "ids": [1, 2]}
    assert other.get("cursor") is None
    state.set("token", "s3cr3t-refresh", secret=True)
    assert state.get("token") == "s3cr3t-refresh"
    with session_scope(engine) as session:
        stored = session.execute(select(ConnectionStateEntry.value).where(
            ConnectionStateEntry.key == "token")).scalar_one()
    assert "s3cr3t" not in stored

    assert state.compare_and_set("token", "wrong", "x", secret=True) is False
    assert state.compare_and_set("token", "s3cr3t-refresh", "next", secret=True) is True
    assert state.get("token") == "next"
    assert state.compare_and_set("new", None, 1) is True
    assert state.compare_and_set("new", None, 2) is False

    # Many threads race to replace the same value: exactly one wins.
    state.set("refresh", "v0")
    wins = []
    barrier = threading.Barrier(8)

    def race(i: int) -> None:
        barrier.wait()
        if DbConnectionState(engine, "xero", BOX).compare_and_set("refresh", "v0", f"v{i + 1}"):
            wins.append(i)

    threads = [threading.Thread(target=race, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    assert state.get("refresh") == f"v{wins[0] + 1}"

    # Racing to create a missing key: exactly one wins too.
    created = []
    barrier2 = threading.Barrier(8)

    def create(i: int) -> None:
        barrier2.wait()
        if DbConnectionState(engine, "xero", BOX).compare_and_set("lock", None, i):
            created.append(i)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(created) == 1 and state.get("lock") == created[0]


def test_connection_state_on_sqlite(hub_engine):
    check_state(hub_engine)


@pytest.mark.postgres
def test_connection_state_on_postgresql(hub_postgres_url):
    engine = make_engine(hub_postgres_url)
    metadata.create_all(engine)
    try:
        check_state(engine)
    finally:
        engine.dispose()


def test_runtime_context_uses_database_state(tmp_path):
    from hub.config import HubSettings
    from hub.host.context import build_context
    from hub.host.plugins import build_plugin_host

    settings = HubSettings(data_dir=tmp_path, secret_key=Fernet.generate_key().decode())
    ctx = build_context(settings, plugins=build_plugin_host(load_entry_points=False, defaults=()))
    metadata.create_all(ctx.engine)
    state = ctx.state_factory(ctx, "psa")
    state.set("k", [1])
    assert DbConnectionState(ctx.engine, "psa", ctx.secret_box).get("k") == [1]
