"""A request whose body is missing, not JSON or not a JSON object is refused (422) with what
to send, not pydantic's bare "Field required" that names no field and no fix."""

from __future__ import annotations

import pytest

from hub.testing.api import api_client


@pytest.fixture
def api(ctx):
    with api_client(ctx, "bodies") as client:
        yield client


@pytest.mark.parametrize("send", [
    {},  # no body at all
    {"content": b"[1]", "headers": {"Content-Type": "application/json"}},
    {"content": b"null", "headers": {"Content-Type": "application/json"}},
    {"content": b'{"name": "Acme"}', "headers": {"Content-Type": "text/plain"}},
], ids=["no-body", "array", "null", "text-plain"])
def test_a_body_that_is_no_json_object_is_refused_with_what_to_send(api, send):
    answer = api.post("/organisations", **send)
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert "JSON object" in detail and "Content-Type: application/json" in detail
    assert api.get("/organisations").json() == []


def test_field_refusals_still_name_the_field(api):
    answer = api.post("/organisations", json={"name": "Acme", "nmae": "x"})
    assert answer.status_code == 422
    assert answer.json()["detail"] == "nmae: is not a field this takes; check its spelling"


def test_a_rule_of_the_body_model_keeps_its_own_message(api):
    """A model-level rule (``unit_price cannot be null``) is located at the body too, but the
    body is an object: its message stays."""
    answer = api.patch("/products/NOPE", json={"unit_price": None})
    assert answer.status_code == 422
    assert answer.json()["detail"] == ("unit_price cannot be null; leave it out to keep its "
                                       "value")


def test_an_allocation_body_that_is_no_object_is_refused_with_what_to_send(api):
    answer = api.post("/payments/1/allocate", json=[1])
    assert answer.status_code == 422
    assert "JSON object" in answer.json()["detail"]
