"""``hub pull`` and ``hub mapping``: pull a CSV usage connection, see its unmapped tenants, map
one, and the next pull assigns its usage to the organisation. ``hub mapping set`` refuses what
no pull would ever read, and stores nothing then: a connection hub.toml does not name (exit 3,
the configured names listed, as ``hub pull`` and ``hub outbox repush`` answer) and an
organisation id past what an id column holds (exit 2, a usage error naming the argument, not
the database driver's overflow message)."""

from __future__ import annotations

import json

from sqlmodel import Session, select

from hub.cli.main import main
from hub.db.engine import make_engine
from hub.db.models import Organisation, OrganisationMapping, UsageSnapshot, metadata


def test_pull_then_map_then_pull(tmp_path, capsys):
    database = tmp_path / "hub.sqlite"
    engine = make_engine(f"sqlite:///{database}")
    metadata.create_all(engine)
    with Session(engine) as session:
        org = Organisation(name="Acme")
        session.add(org)
        session.commit()
        org_id = org.id
    (tmp_path / "acronis.csv").write_text(
        "Customer ID;Product Code;Seats\nT-1;ACR-WS;5\nT-2;ACR-WS;3\n", encoding="utf-8")
    config = tmp_path / "hub.toml"
    config.write_text(f"""
database_url = "sqlite:///{database.as_posix()}"
data_dir = "{(tmp_path / 'data').as_posix()}"

[[connections]]
name = "acronis"
plugin = "csv_usage"
[connections.settings]
vendor = "Acronis"
path = "{(tmp_path / 'acronis.csv').as_posix()}"
delimiter = ";"
[connections.settings.columns]
tenant = "Customer ID"
sku = "Product Code"
quantity = "Seats"
""", encoding="utf-8")

    assert main(["--config", str(config), "pull", "acronis"]) == 0
    out = capsys.readouterr().out
    assert "usage" in out and "hub mapping set acronis" in out

    assert main(["--config", str(config), "mapping", "set", "acronis", "T-1", str(org_id)]) == 0
    assert main(["--config", str(config), "mapping", "set", "acronis", "T-1", "999"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["--config", str(config), "mapping", "list", "--unmapped"]) == 0
    listed = capsys.readouterr().out
    assert "T-2" in listed and "T-1" not in listed

    assert main(["--config", str(config), "pull", "acronis"]) == 0
    with Session(engine) as session:
        usage = {u.tenant_external_id: u.organisation_id
                 for u in session.exec(select(UsageSnapshot)).all()}
    assert usage == {"T-1": org_id, "T-2": None}
    engine.dispose()


def _usage_config(tmp_path, rows: str):
    database = tmp_path / "hub.sqlite"
    engine = make_engine(f"sqlite:///{database}")
    metadata.create_all(engine)
    (tmp_path / "pax.csv").write_text("Tenant,SKU,Seats,Month\n" + rows, encoding="utf-8")
    config = tmp_path / "hub.toml"
    config.write_text(f"""
database_url = "sqlite:///{database.as_posix()}"
data_dir = "{(tmp_path / 'data').as_posix()}"

[[connections]]
name = "pax"
plugin = "csv_usage"
[connections.settings]
vendor = "Pax"
path = "{(tmp_path / 'pax.csv').as_posix()}"
[connections.settings.columns]
tenant = "Tenant"
sku = "SKU"
quantity = "Seats"
period = "Month"
""", encoding="utf-8")
    return engine, config


def test_pull_period_pulls_the_usage_of_that_month(tmp_path, capsys):
    engine, config = _usage_config(
        tmp_path, "T-1,M365-BP,7,2026-11\nT-1,M365-BP,9,2026-12\nT-2,M365-BP,4,2027-01\n")

    assert main(["--config", str(config), "pull", "pax", "--period", "2026-11"]) == 0
    assert "usage for 2026-11" in capsys.readouterr().out
    with Session(engine) as session:
        rows = [(u.tenant_external_id, u.quantity, u.period_start.isoformat(),
                 u.period_end.isoformat()) for u in session.exec(select(UsageSnapshot)).all()]
    assert [(t, q.normalize(), s, e) for t, q, s, e in rows] == \
        [("T-1", 7, "2026-11-01", "2026-11-30")]

    assert main(["--config", str(config), "pull", "pax", "--period", "2027-01"]) == 0
    with Session(engine) as session:
        periods = sorted((u.tenant_external_id, u.period_start.isoformat())
                         for u in session.exec(select(UsageSnapshot)).all())
    assert ("T-2", "2027-01-01") in periods
    engine.dispose()


def test_a_bad_pull_period_is_refused_in_one_line(tmp_path, capsys):
    engine, config = _usage_config(tmp_path, "T-1,M365-BP,7,2026-11\n")
    for bad in ("2026-13", "11-2026", "2026-1", "next month", "1999-12"):
        assert main(["--config", str(config), "pull", "pax", "--period", bad]) == 2, bad
        err = capsys.readouterr().err.strip()
        assert "YYYY-MM" in err and "Traceback" not in err, err
        assert len(err.splitlines()) <= 2, err   # the message and its hint
    with Session(engine) as session:
        assert session.exec(select(UsageSnapshot)).all() == []
    engine.dispose()


def test_status_shows_last_pull_after_hub_pull(tmp_path, capsys):
    """#19: `hub status` said "last pull: never" after a successful `hub pull` (only the job
    runner noted pulls); the pull itself notes it now."""
    database = tmp_path / "hub.sqlite"
    engine = make_engine(f"sqlite:///{database}")
    metadata.create_all(engine)
    engine.dispose()
    (tmp_path / "usage.csv").write_text("Customer ID;Product Code;Seats\nT-1;WS;5\n",
                                        encoding="utf-8")
    config = tmp_path / "hub.toml"
    config.write_text(f"""
database_url = "sqlite:///{database.as_posix()}"
data_dir = "{(tmp_path / 'data').as_posix()}"

[[connections]]
name = "acronis"
plugin = "csv_usage"
[connections.settings]
vendor = "Acronis"
path = "{(tmp_path / 'usage.csv').as_posix()}"
delimiter = ";"
[connections.settings.columns]
tenant = "Customer ID"
sku = "Product Code"
quantity = "Seats"
""", encoding="utf-8")
    assert main(["--config", str(config), "status", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["connections"]["acronis"]["last_pull"] is None
    assert main(["--config", str(config), "pull", "acronis"]) == 0
    capsys.readouterr()
    assert main(["--config", str(config), "status", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["connections"]["acronis"]["last_pull"]
    assert main(["--config", str(config), "status"]) == 0
    row = capsys.readouterr().out.split("acronis", 1)[1].splitlines()[0]
    assert "never" not in row.split("csv_usage", 1)[1].split()[1], row

def _hub(tmp_path):
    """A hub with one organisation and the usage connection ``pax``: (engine, config, org id)."""
    engine, config = _usage_config(tmp_path, "")
    with Session(engine) as session:
        org = Organisation(name="Acme")
        session.add(org)
        session.commit()
        return engine, str(config), org.id


def _mappings(engine):
    with Session(engine) as session:
        return [(m.connection, m.external_id, m.organisation_id)
                for m in session.exec(select(OrganisationMapping)).all()]


def test_an_unknown_connection_is_refused_and_nothing_stored(tmp_path, capsys):
    engine, config, org_id = _hub(tmp_path)

    assert main(["--config", config, "mapping", "set", "paxx", "T-1", str(org_id)]) == 3
    err = capsys.readouterr().err
    assert "no connection named 'paxx'" in err and "pax" in err
    assert _mappings(engine) == []

    assert main(["--config", config, "mapping", "set", "pax", "T-1", str(org_id)]) == 0
    assert _mappings(engine) == [("pax", "T-1", org_id)]
    engine.dispose()


def test_an_organisation_id_out_of_range_is_a_usage_error(tmp_path, capsys):
    engine, config, _ = _hub(tmp_path)

    assert main(["--config", config, "mapping", "set", "pax", "T-1",
                 "99999999999999999999"]) == 2
    err = capsys.readouterr().err
    assert "organisation_id" in err and "2147483647" in err and "SQLite" not in err
    assert main(["--config", config, "mapping", "set", "pax", "T-1", "0"]) == 2
    assert _mappings(engine) == []
    engine.dispose()


def test_outbox_repush_refuses_a_document_id_out_of_range(tmp_path, capsys):
    engine, config, _ = _hub(tmp_path)

    assert main(["--config", config, "outbox", "repush", "invoice", "99999999999999999999",
                 "-c", "pax"]) == 2
    err = capsys.readouterr().err
    assert "document_id" in err and "2147483647" in err and "SQLite" not in err
    engine.dispose()
