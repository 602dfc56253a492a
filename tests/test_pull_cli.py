"""``hub pull`` and ``hub mapping``: pull a CSV usage connection, see its unmapped tenants, map
one, and the next pull assigns its usage to the organisation."""

from __future__ import annotations

import json

from sqlmodel import Session, select

from hub.cli.main import main
from hub.db.engine import make_engine
from hub.db.models import Organisation, UsageSnapshot, metadata


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
