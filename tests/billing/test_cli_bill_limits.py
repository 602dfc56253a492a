"""``hub bill preview|show --limit`` take what ``POST /batches`` and ``GET /batches/{id}``
take (1 to 1000 invoices): 0 showed no invoice and -1 every invoice on SQLite (PostgreSQL
refuses a negative LIMIT, after ``preview`` had stored its batch); now both are usage errors
naming the option, and ``preview`` stores no batch."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from hub.cli.main import main
from hub.db.engine import make_engine
from hub.db.models import BillingBatch, metadata


@pytest.fixture
def config(tmp_path):
    database = tmp_path / "hub.sqlite"
    engine = make_engine(f"sqlite:///{database}")
    metadata.create_all(engine)
    engine.dispose()
    path = tmp_path / "hub.toml"
    path.write_text(f'database_url = "sqlite:///{database.as_posix()}"\n'
                    f'data_dir = "{(tmp_path / "data").as_posix()}"\n', encoding="utf-8")
    return str(path), f"sqlite:///{database.as_posix()}"


@pytest.mark.parametrize("command", [["bill", "preview", "--date", "2026-03-01"],
                                     ["bill", "show", "1"]])
@pytest.mark.parametrize("limit,says", [("0", "greater than or equal to 1"),
                                        ("-1", "greater than or equal to 1"),
                                        ("1001", "less than or equal to 1000")])
def test_a_limit_the_api_refuses_is_a_usage_error(config, capsys, command, limit, says):
    path, url = config
    assert main(["--config", path, *command, f"--limit={limit}"]) == 2
    err = capsys.readouterr().err
    assert "'--limit'" in err and says in err
    engine = make_engine(url)
    with Session(engine) as session:
        assert session.exec(select(BillingBatch)).all() == []
    engine.dispose()


def test_a_limit_in_range_is_taken(config, capsys):
    path, _ = config
    assert main(["--config", path, "bill", "preview", "--date", "2026-03-01",
                 "--limit", "1000"]) == 0
    assert "no batch stored" in capsys.readouterr().out
