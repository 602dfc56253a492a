"""Issue #19: `hub pull --import-organisations` from a second source matches the customers the
first source already brought (by a cross-reference the source keeps), never by name alone, and
creates only the new ones."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ConfigDict
from sqlmodel import select
from typer.testing import CliRunner

from hub import OrganisationRecord, PullPage, hookimpl
from hub.cli import state as cli_state
from hub.cli.main import build_app
from hub.config import HubSettings
from hub.contract.connections import ConnectionType
from hub.db.engine import make_engine, session_scope
from hub.db.models import Organisation, OrganisationMapping, metadata
from hub.host.context import HubContext
from hub.host.plugins import build_plugin_host
from hub.testing.clock import FrozenClock


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TwoSources:
    """A PSA (``psa``) and an RMM (``rmm``) that both know the same customers."""

    def __init__(self) -> None:
        self.companies = {
            "psa": [OrganisationRecord(external_id="1", name="Acme Ltd"),
                    OrganisationRecord(external_id="2", name="Globex Corp"),
                    OrganisationRecord(external_id="3", name="Initech"),
                    OrganisationRecord(external_id="4", name="Umbrella")],
            "rmm": [OrganisationRecord(external_id="site-a", name="ACME (main office)",
                                       attributes={"psa_company_id": "1"}),
                    OrganisationRecord(external_id="site-b", name="globex corp.",
                                       attributes={}),
                    OrganisationRecord(external_id="site-c", name="Initech",
                                       attributes={"psa_company_id": "3"}),
                    OrganisationRecord(external_id="site-d", name="Hooli", attributes={})],
        }

    @hookimpl
    def hub_register_connection_types(self, register):
        register(ConnectionType("fake-psa", _Settings, frozenset({"pull"})))
        register(ConnectionType("fake-rmm", _Settings, frozenset({"pull"})))

    @hookimpl
    def hub_pull_organisations(self, connection, since, cursor):
        records = self.companies.get(connection.name)
        if records is None:
            return None
        return PullPage(records=records, full=True, complete=True)


@pytest.fixture
def hub(tmp_path):
    engine = make_engine("sqlite:///" + str(tmp_path / "t.sqlite"))
    metadata.create_all(engine)
    plugins = build_plugin_host(extra_plugins=[("two-sources", TwoSources())],
                                load_entry_points=False, defaults=())
    settings = HubSettings(data_dir=tmp_path, connections=[
        {"name": "psa", "plugin": "fake-psa"}, {"name": "rmm", "plugin": "fake-rmm"}])
    ctx = HubContext(settings=settings, engine=engine, plugins=plugins,
                     clock=FrozenClock("2026-03-15T08:00:00+00:00"))
    app = build_app(with_plugins=False)
    runner = CliRunner()
    width = cli_state.console.width
    cli_state.console.width = 200

    def invoke(*args: str) -> str:
        cli_state.state._context = ctx
        result = runner.invoke(app, list(args), catch_exceptions=True)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        assert result.exit_code == 0, result.output
        return result.output

    invoke.engine = engine
    yield invoke
    cli_state.console.width = width
    cli_state.reset()
    engine.dispose()


def _organisations(engine) -> list[str]:
    with session_scope(engine) as session:
        return sorted(o.name for o in session.exec(select(Organisation)).all())


def _mapping(engine, connection: str) -> dict[str, int | None]:
    with session_scope(engine) as session:
        return {m.external_id: m.organisation_id for m in session.exec(
            select(OrganisationMapping).where(OrganisationMapping.connection == connection))}


def test_import_from_a_second_source_matches_before_creating(hub):
    hub("pull", "psa", "--import-organisations")
    assert _organisations(hub.engine) == ["Acme Ltd", "Globex Corp", "Initech", "Umbrella"]
    psa = _mapping(hub.engine, "psa")

    out = hub("pull", "rmm", "--import-organisations")
    # one new customer only (Hooli): 5 organisations for 5 customers, not 8
    assert _organisations(hub.engine) == ["Acme Ltd", "Globex Corp", "Hooli", "Initech",
                                          "Umbrella"]
    rmm = _mapping(hub.engine, "rmm")
    # matched by the cross-reference the RMM keeps, whatever the name says
    assert rmm["site-a"] == psa["1"] and rmm["site-c"] == psa["3"]
    assert f"matched site-a (ACME (main office)) to organisation {psa['1']}" in out
    # a name that only looks the same is not mapped: a person confirms it
    assert rmm["site-b"] is None
    assert f"hub mapping set rmm site-b {psa['2']}" in out
    assert "same name as organisation" in out

    hub("mapping", "set", "rmm", "site-b", str(psa["2"]))
    hub("pull", "rmm", "--import-organisations")
    assert _mapping(hub.engine, "rmm")["site-b"] == psa["2"]
    assert len(_organisations(hub.engine)) == 5


def test_two_customers_of_one_name_at_one_source_stay_two(hub):
    """Matching never merges companies the same source keeps apart."""
    hub("pull", "psa", "--import-organisations")
    with session_scope(hub.engine) as session:
        session.add(OrganisationMapping(connection="psa", external_id="9",
                                        external_name="Initech"))
    # a second "Initech" at the PSA (id 9) is another customer of the PSA's own
    from hub.sources.matching import match_organisation

    with session_scope(hub.engine) as session:
        match = match_organisation(session, OrganisationRecord(external_id="9", name="Initech"),
                                   "psa", {"psa": "fake-psa", "rmm": "fake-rmm"})
    assert match.organisation_id is None and match.suggested_id is None
