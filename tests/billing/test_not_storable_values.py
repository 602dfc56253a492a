"""A value the validation rules let through and the database still refuses — on PostgreSQL a
text with a NUL character (``"\\u0000"`` in JSON) in a field of the API's own request models
(a payment's reference, an invoice's note) — is bad input: the REST API answers 422 with the
database's reason and what to do (it answered 500), the CLI exits 2 with one line (it printed
a traceback), and nothing is stored."""

from __future__ import annotations

import pytest
import sqlalchemy.exc
from sqlmodel import Session, select

import hub.billing.catalogue
import hub.billing.invoices
from hub.cli.main import main
from hub.db.engine import make_engine
from hub.db.models import Invoice, Organisation, Payment, metadata
from hub.testing.api import api_client


@pytest.fixture
def pg_ctx(hub_postgres_url, tmp_path, make_ctx):
    return make_ctx(hub_postgres_url, tmp_path)


def _rows(ctx, model):
    with Session(ctx.engine) as session:
        return session.exec(select(model)).all()


def test_postgres_a_nul_in_a_text_is_refused_with_422_and_nothing_stored(pg_ctx):
    with api_client(pg_ctx, "nul") as api:
        org = api.post("/organisations", json={"name": "Acme"}).json()["id"]

        answer = api.post("/invoices", json={"organisation_id": org, "note": "n\u0000te"})
        assert answer.status_code == 422, answer.text
        detail = answer.json()["detail"]
        assert "NUL" in detail and "nothing was stored" in detail
        assert _rows(pg_ctx, Invoice) == []

        answer = api.post("/payments", json={"organisation_id": org, "amount": "5",
                                             "reference": "chq\u00001"},
                          headers={"Idempotency-Key": "nul-1"})
        assert answer.status_code == 422, answer.text
        assert _rows(pg_ctx, Payment) == []
        # The refused request kept no key: sent again without the NUL, it is recorded.
        answer = api.post("/payments", json={"organisation_id": org, "amount": "5",
                                             "reference": "chq1"},
                          headers={"Idempotency-Key": "nul-1"})
        assert answer.status_code == 201, answer.text


def _refused(*args, **kwargs):
    raise sqlalchemy.exc.DataError("INSERT ...", {}, Exception("value out of range"))


def test_a_value_the_database_refuses_is_a_422_on_any_database(ctx, monkeypatch):
    monkeypatch.setattr(hub.billing.catalogue, "create_organisation", _refused)
    with api_client(ctx, "data") as api:
        answer = api.post("/organisations", json={"name": "Acme"})
    assert answer.status_code == 422
    assert answer.json() == {
        "detail": "a value in the request cannot be stored (value out of range); nothing was "
                  "stored — remove control characters such as NUL from texts and keep numbers "
                  "within their limits",
        "error": "ValidationFailed"}


def test_the_cli_answers_a_value_the_database_refuses_in_one_line(tmp_path, capsys,
                                                                  monkeypatch):
    database = tmp_path / "hub.sqlite"
    engine = make_engine(f"sqlite:///{database}")
    metadata.create_all(engine)
    with Session(engine) as session:
        session.add(Organisation(name="Acme"))
        session.commit()
    engine.dispose()
    config = tmp_path / "hub.toml"
    config.write_text(f'database_url = "sqlite:///{database.as_posix()}"\n'
                      f'data_dir = "{(tmp_path / "data").as_posix()}"\n', encoding="utf-8")
    monkeypatch.setattr(hub.billing.invoices, "create_invoice", _refused)

    assert main(["--config", str(config), "invoice", "create", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: a value cannot be stored (value out of range); nothing was "
                          "stored")
    assert "Traceback" not in err


@pytest.mark.parametrize("body", [{"name": "Acme\u0000 Ltd"}, {"name": "\u0000"}])
def test_a_nul_in_a_record_is_refused_at_the_door_on_any_database(ctx, body):
    """The shared input models (hub.validation.records) refuse a NUL before any database sees
    it: SQLite would store it, PostgreSQL refuse it, and both must answer the same."""
    with api_client(ctx, "nul-door") as api:
        answer = api.post("/organisations", json=body)
        assert answer.status_code == 422, answer.text
        assert "holds a NUL character" in answer.json()["detail"]
        assert api.get("/organisations").json() == []


def test_a_nul_inside_a_lines_filters_is_refused_too():
    from pydantic import ValidationError

    from hub.validation.records import LineInput

    with pytest.raises(ValidationError, match="holds a NUL character"):
        LineInput(line_type="asset_counter", unit_price="30",
                  filters={"asset_type": "work\u0000station"})
    assert LineInput(line_type="asset_counter", unit_price="30",
                     filters={"asset_type": "workstation"}).filters
