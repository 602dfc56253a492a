"""Ids, counts and amounts in request bodies take what they say: JSON ``true`` is not the id 1
(pydantic's lax int read it so) nor the amount 1, and ``1.5`` is not an id. Text of digits stays
accepted, since the CLI hands its values over as text."""

from __future__ import annotations

import inspect
import typing
from typing import Annotated

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

import hub.validation.accounts
import hub.validation.records
import hub.web.routers.billing
import hub.web.routers.ledger
import hub.web.routers.ledger_prebills
import hub.web.routers.records
from hub.db.engine import session_scope
from hub.db.models import Organisation
from hub.testing.snapshots import every_row
from hub.validation.fields import Amount, Id, Integer
from hub.testing.api import api_client

_MODULES = (hub.validation.records, hub.validation.accounts, hub.web.routers.billing,
            hub.web.routers.ledger, hub.web.routers.ledger_prebills, hub.web.routers.records)


def _takes_bool(annotation) -> bool:
    return annotation is bool or any(_takes_bool(a) for a in typing.get_args(annotation))


def _request_fields():
    """(model, field, a validator of the field alone) for every field of every request body
    that is not a yes/no itself."""
    for module in _MODULES:
        for name, model in vars(module).items():
            if not (inspect.isclass(model) and issubclass(model, BaseModel)
                    and model.__module__ == module.__name__):
                continue
            for field, info in model.model_fields.items():
                if _takes_bool(info.annotation):
                    continue
                annotation = (Annotated[(info.annotation, *info.metadata)] if info.metadata
                              else info.annotation)
                yield f"{name}.{field}", TypeAdapter(annotation)


FIELDS = list(_request_fields())


@pytest.mark.parametrize("name,adapter", FIELDS, ids=[n for n, _ in FIELDS])
def test_no_request_field_but_a_yes_no_takes_true(name, adapter):
    with pytest.raises(ValidationError):
        adapter.validate_python(True)


def test_the_number_types_refuse_booleans_and_fractions_and_take_digits():
    for kind in (Id, Integer):
        adapter = TypeAdapter(kind)
        for bad in (True, False, 1.5):
            with pytest.raises(ValidationError) as refused:
                adapter.validate_python(bad)
            assert "not a number" in str(refused.value) or "not a whole number" in str(
                refused.value)
        assert adapter.validate_python("7") == 7 and adapter.validate_python(7) == 7
    with pytest.raises(ValidationError, match="true is a yes/no, not an amount"):
        TypeAdapter(Amount).validate_python(True)
    assert str(TypeAdapter(Amount).validate_python("12.50")) == "12.50"


@pytest.fixture
def api(ctx):
    with api_client(ctx, "types") as client:
        yield client


@pytest.mark.parametrize("path,body,words", [
    ("/payments", {"organisation_id": True, "amount": "10.00"},
     "organisation_id: true is a yes/no, not a number"),
    ("/payments", {"organisation_id": 1, "amount": "10.00", "invoice_id": True},
     "invoice_id: true is a yes/no"),
    ("/payments", {"organisation_id": 1, "amount": True}, "amount: true is a yes/no"),
    ("/payments", {"organisation_id": 1.5, "amount": "10.00"},
     "organisation_id: 1.5 is not a whole number"),
    ("/credit-notes", {"organisation_id": True,
                       "lines": [{"description": "goodwill", "unit_price": "5"}]},
     "organisation_id: true is a yes/no"),
    ("/invoices", {"organisation_id": True}, "organisation_id: true is a yes/no"),
    ("/organisations", {"name": "Bool Ltd", "billing_day": True}, "billing_day: true is a yes/no"),
    ("/organisations", {"name": "Bool Ltd", "payment_due_days": True},
     "payment_due_days: true is a yes/no"),
    ("/contracts/invoice-many", {"contracts": [True]}, "contracts.0: true is a yes/no"),
])
def test_api_refuses_true_for_an_id_count_or_amount_and_stores_nothing(api, ctx, path, body,
                                                                       words):
    assert api.post("/organisations", json={"name": "Acme"}).status_code == 201
    before = every_row(ctx.engine)
    answer = api.post(path, json=body)
    assert answer.status_code == 422, answer.text
    assert words in answer.json()["detail"] and "\n" not in answer.json()["detail"]
    assert every_row(ctx.engine) == before


def test_api_still_takes_ids_written_as_text(api, ctx):
    org = api.post("/organisations", json={"name": "Acme", "billing_day": "5"}).json()
    answer = api.post("/payments", json={"organisation_id": str(org["id"]), "amount": "10.00"})
    assert answer.status_code == 201, answer.text
    with session_scope(ctx.engine) as s:
        assert s.get(Organisation, org["id"]).billing_day == 5
