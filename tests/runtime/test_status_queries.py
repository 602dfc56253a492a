"""``hub status`` and ``GET /status`` read one set of plain SQL queries (hub.jobs.status): the
CLI through its own driver connection, the web app through its engine's. Both give what the
ORM holds, on SQLite (timestamps stored as text) and on PostgreSQL; a database that is not set
up or cannot be reached is refused in one line."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import BaseModel
from sqlalchemy import func, select

from hub import ConnectionType, hookimpl
from hub.cli.main import main
from hub.config import HubSettings
from hub.contract.connections import LAST_PULL_KEY
from hub.db.engine import make_engine, session_scope
from hub.db.models import (
    ConnectionStateEntry, ExternalLink, InboxEvent, JobRecord, JobStatus, OutboxEntry, metadata,
)
from hub.db.models.observe import ProcessHeartbeat
from hub.host.context import HubContext
from hub.jobs.status import hub_status, standalone_status

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 22, 10, 47, 30, tzinfo=UTC)


class Empty(BaseModel):
    pass


class PsaPlugin:
    @hookimpl
    def hub_register_connection_types(self, register):
        register(ConnectionType("psa", Empty, frozenset({"pull"})))
        register(ConnectionType("books", Empty, frozenset({"accounting"})))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    if request.param == "postgres":
        return request.getfixturevalue("hub_postgres_url")
    return f"sqlite:///{(tmp_path / 'hub.sqlite').as_posix()}"


def _seed(engine) -> None:
    with session_scope(engine) as session:
        for status in ("pending", "pending", "failed"):
            session.add(OutboxEntry(effect="push", document_kind="invoice",
                                    document_id=len(session.new) + 1, connection="xero",
                                    status=status))
        session.add(InboxEvent(connection="xero", event_id="evt-1", kind="payment",
                               status="processed"))
        for status in (JobStatus.failed, JobStatus.failed, JobStatus.retried):
            session.add(JobRecord(actor="push_documents", status=status))
        for number, at in enumerate((dt.datetime(2026, 11, 21, 9, 0, 0, 123456, tzinfo=UTC),
                                     dt.datetime(2026, 11, 22, 8, 15, tzinfo=UTC))):
            session.add(ExternalLink(document_kind="invoice", document_id=number + 1,
                                     connection="xero", external_id=f"X-{number}",
                                     synced_at=at))
        session.add(ConnectionStateEntry(connection="ninja", key=LAST_PULL_KEY,
                                         value='"2026-11-22T10:00:00+00:00"'))
        session.add(ConnectionStateEntry(connection="ninja", key="cursor", value='"abc"'))
        session.add(ProcessHeartbeat(process="worker@h:2", kind="worker", host="h", pid=2,
                                     started_at=dt.datetime(2026, 11, 22, 9, 0, 0, 500, tzinfo=UTC),
                                     seen_at=NOW - dt.timedelta(seconds=12.34)))
        session.add(ProcessHeartbeat(process="scheduler@h:1", kind="scheduler", host="h", pid=1,
                                     started_at=dt.datetime(2026, 11, 22, 9, 0, tzinfo=UTC),
                                     seen_at=NOW))


def test_cli_and_web_read_what_the_orm_holds(database_url, tmp_path, make_plugin_host):
    engine = make_engine(database_url)
    metadata.create_all(engine)
    _seed(engine)
    settings = HubSettings(data_dir=tmp_path / "data", database_url=database_url,
                           billing={"run_at": "06:00"}, connections=[
                               {"name": "ninja", "plugin": "psa", "pull_interval_minutes": 30},
                               {"name": "xero", "plugin": "books"}])
    plugins = make_plugin_host(PsaPlugin())
    cli = standalone_status(settings, plugins, NOW)
    web = hub_status(HubContext(settings=settings, engine=engine, plugins=plugins), None, NOW)
    with session_scope(engine) as session:  # what the ORM makes of the stored timestamps
        pushed = session.execute(select(func.max(ExternalLink.synced_at))).scalar()
        started = {b.process: b.started_at for b in session.execute(
            select(ProcessHeartbeat)).scalars()}
    engine.dispose()
    assert cli["queues"] == {"hub": 0, "hub.DQ": 0} and web["queues"] == {}
    assert {**cli, "queues": {}} == web
    assert cli["broker"] == "in-process"
    assert cli["outbox"] == {"failed": 1, "pending": 2} and cli["inbox"] == {"processed": 1}
    assert cli["failed_jobs"] == 2
    assert cli["connections"] == {
        "ninja": {"plugin": "psa", "enabled": True, "last_pull": "2026-11-22T10:00:00+00:00",
                  "last_push": None, "next_pull": "2026-11-22T11:00:00+00:00"},
        "xero": {"plugin": "books", "enabled": True, "last_pull": None,
                 "last_push": pushed.isoformat(), "next_pull": None}}
    assert pushed.replace(tzinfo=UTC) == dt.datetime(2026, 11, 22, 8, 15, tzinfo=UTC)
    assert cli["next_runs"]["billing_run"] == "2026-11-23T06:00:00+00:00"
    assert "poll:xero" not in cli["next_runs"]
    assert cli["processes"] == [
        {"process": "scheduler@h:1", "kind": "scheduler",
         "started_at": started["scheduler@h:1"].isoformat(), "seen_seconds_ago": 0.0},
        {"process": "worker@h:2", "kind": "worker",
         "started_at": started["worker@h:2"].isoformat(), "seen_seconds_ago": 12.3}]
    assert started["worker@h:2"].microsecond == 500
    assert cli["rate_budgets"] == []


def _hub_toml(tmp_path, database_url: str):
    path = tmp_path / "hub.toml"
    path.write_text(f'data_dir = "{(tmp_path / "data").as_posix()}"\n'
                    f'database_url = "{database_url}"\n', encoding="utf-8")
    return path


def _one_line_refusal(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in err, err
    return lines[0]


def test_status_of_a_database_not_set_up_says_to_upgrade_it(database_url, tmp_path, capsys,
                                                            monkeypatch):
    monkeypatch.setenv("HUB_DISABLE_PLUGINS", "")
    monkeypatch.delenv("HUB_BROKER_URL", raising=False)
    config = _hub_toml(tmp_path, database_url)
    assert main(["--config", str(config), "status"]) == 3
    assert "run `hub db upgrade`" in _one_line_refusal(capsys)


def test_status_of_an_unreachable_postgresql_is_refused_in_one_line(tmp_path, capsys,
                                                                   monkeypatch):
    monkeypatch.delenv("HUB_BROKER_URL", raising=False)
    config = _hub_toml(tmp_path, "postgresql://hub@127.0.0.1:1/hub")  # nothing listens on 1
    assert main(["--config", str(config), "status", "--json"]) == 4
    assert "the database cannot be reached" in _one_line_refusal(capsys)
