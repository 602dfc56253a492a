"""A date in a request is written, not counted: pydantic's own ``date`` reads the JSON number
``0`` (or the text ``"86400"``) as Unix time, so ``service_start: 0`` became 1970-01-01 and a
payment dated ``86400`` 1970-01-02. Every date field of every body the API takes (and of every
input model the services parse) is a :data:`hub.validation.fields.Day`, which refuses numbers
with a message saying to write YYYY-MM-DD; the date query parameters too."""

from __future__ import annotations

import datetime as dt
import inspect
import json
import typing
from typing import Annotated, Any, Iterator

import pytest
from dramatiq.brokers.stub import StubBroker
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel, TypeAdapter, ValidationError

import hub.validation.accounts
import hub.validation.records
from hub.jobs.assemble import build_runtime
from hub.testing.snapshots import every_row
from hub.web.app import create_app
from hub.web.tokens import create_token

#: Numbers pydantic's date would read as Unix time (0 is 1970-01-01), as JSON or as text.
NUMBERS = (0, 86400, 86400.0, "0", "86400", 1767225600)


def _api_routes(routes) -> Iterator[APIRoute]:
    """Every API route, also those inside included routers (FastAPI keeps them apart)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)
        yield from _api_routes(included.routes if included is not None
                               else getattr(route, "routes", ()))


def _dependants(dependant) -> Iterator[Any]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)


def _models(annotation) -> Iterator[type[BaseModel]]:
    """The pydantic models in ``annotation``, and the models of their fields, recursively."""
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        yield annotation
        for info in annotation.model_fields.values():
            yield from _models(info.annotation)
    for argument in typing.get_args(annotation):
        yield from _models(argument)


def _has_date(annotation) -> bool:
    return annotation is dt.date or any(_has_date(a) for a in typing.get_args(annotation))


def _in_list(annotation) -> bool:
    return typing.get_origin(annotation) is list or any(
        _in_list(a) for a in typing.get_args(annotation))


def _adapter(info) -> TypeAdapter:
    return TypeAdapter(Annotated[(info.annotation, *info.metadata)] if info.metadata
                       else info.annotation)


def _body_models(app) -> set[type[BaseModel]]:
    found: set[type[BaseModel]] = set()
    for route in _api_routes(app.routes):
        for dependant in _dependants(route.dependant):
            for param in dependant.body_params:
                found.update(_models(param.field_info.annotation))
    return found


def _date_fields(models) -> list[tuple[str, bool, TypeAdapter]]:
    """(model.field, whether it is a list of dates, a validator of the field alone)."""
    return sorted(((f"{model.__name__}.{name}", _in_list(info.annotation), _adapter(info))
                   for model in models for name, info in model.model_fields.items()
                   if _has_date(info.annotation)), key=lambda field: field[0])


def _input_models() -> set[type[BaseModel]]:
    """The input models the services parse (the CLI's way in), whether or not a route takes
    them as a body."""
    return {model for module in (hub.validation.records, hub.validation.accounts)
            for model in vars(module).values()
            if inspect.isclass(model) and issubclass(model, BaseModel)
            and model.__module__ == module.__name__}


@pytest.fixture
def app(ctx):
    runtime = build_runtime(ctx, broker=StubBroker())
    yield create_app(ctx, runtime)
    runtime.close()


def _refuses_numbers(name: str, listed: bool, adapter: TypeAdapter) -> None:
    def value(one: Any) -> Any:
        return [one] if listed else one

    for number in NUMBERS:
        with pytest.raises(ValidationError) as refused:
            adapter.validate_python(value(number))
        assert "YYYY-MM-DD" in str(refused.value), (name, number, str(refused.value))
        with pytest.raises(ValidationError):
            adapter.validate_json(json.dumps(value(number)))
    assert adapter.validate_json(json.dumps(value("2026-03-01"))) == value(
        dt.date(2026, 3, 1)), name


def test_no_date_field_of_a_request_body_takes_a_number(app):
    models = _body_models(app)
    # The walk sees the bodies (also nested ones such as InvoiceChanges.lines' items).
    assert {"PaymentIn", "InvoiceChanges", "InvoiceLineInput", "RecurringChanges",
            "PreviewIn"} <= {m.__name__ for m in models}
    fields = _date_fields(models)
    assert {"PaymentIn.date", "RecurringChanges.end_date", "PreviewIn.run_date",
            "InvoiceChanges.due_date", "AttachIn.start"} <= {field[0] for field in fields}
    for field in fields:
        _refuses_numbers(*field)


def test_no_date_field_of_an_input_model_takes_a_number():
    fields = _date_fields(_input_models())
    assert {"RecurringInput.service_start", "ContractInput.start_date", "GroupInput.next_date",
            "FutureItemInput.created_on", "AccountConfigChanges.holidays",
            "AccountConfigChanges.next_block_date"} <= {field[0] for field in fields}
    for field in fields:
        _refuses_numbers(*field)


def test_no_date_query_parameter_takes_a_number(app):
    params = [(f"{route.path} {param.name}", param)
              for route in _api_routes(app.routes) for dependant in _dependants(route.dependant)
              for param in dependant.query_params if _has_date(param.field_info.annotation)]
    assert len(params) >= 6  # the statement (JSON and PDF) and the pre-bill options' periods
    client = TestClient(app)
    client.headers["Authorization"] = f"Bearer {create_token(app.state.ctx.engine, 'dates')}"
    for path in ("/organisations/1/statement", "/organisations/1/statement.pdf"):
        answer = client.get(path, params={"start": "0", "end": "86400"})
        assert answer.status_code == 422 and "YYYY-MM-DD" in answer.json()["detail"], path
    answer = client.get("/prebills/1/options", params={"start": "86400"})
    assert answer.status_code == 422 and "YYYY-MM-DD" in answer.json()["detail"]


@pytest.mark.parametrize("path,body,field", [
    ("/payments", {"organisation_id": 1, "amount": "10.00", "date": 86400}, "date"),
    ("/batches", {"run_date": 0}, "run_date"),
    ("/invoices", {"organisation_id": 1, "issue_date": 0}, "issue_date"),
    ("/credit-notes", {"organisation_id": 1, "date": 0,
                       "lines": [{"description": "goodwill", "unit_price": "5"}]}, "date"),
])
def test_the_api_refuses_a_number_for_a_date_and_stores_nothing(app, ctx, path, body, field):
    client = TestClient(app)
    client.headers["Authorization"] = f"Bearer {create_token(ctx.engine, 'dates')}"
    assert client.post("/organisations", json={"name": "Acme"}).status_code == 201
    before = every_row(ctx.engine)
    answer = client.post(path, json=body)
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert detail.startswith(f"{field}: ") and "write it as YYYY-MM-DD" in detail, detail
    assert "\n" not in detail
    assert every_row(ctx.engine) == before
    good = client.post(path, json={**body, field: "2026-03-02"})
    assert good.status_code in (200, 201), good.text
