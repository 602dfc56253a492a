"""A bounded schemathesis run over every operation of the REST API, with a token (issue #16):
no answer is a server error, and every answer matches the OpenAPI document (status codes,
content types, bodies). Bounded: a few examples per operation, no deadline per example (the
machine is shared), the whole run under the test timeout."""

from __future__ import annotations

import pytest
import schemathesis
from dramatiq.brokers.stub import StubBroker
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    content_type_conformance, not_a_server_error, response_schema_conformance,
    status_code_conformance,
)

from hub.billing.catalogue import add_asset, add_contact, add_product, create_organisation
from hub.billing.recurring import add_recurring_line, create_recurring
from hub.db.engine import session_scope
from hub.jobs.assemble import build_runtime
from hub.web.app import create_app
from hub.web.tokens import create_token

import datetime as dt

TOKEN: dict[str, str] = {}

#: Examples per operation (bounded: the run takes a few minutes on a shared machine).
EXAMPLES = 10


@pytest.fixture
def api_schema(ctx):
    from alembic import command

    from hub.db.migrate import alembic_config

    # The tables were made from the models, which are the migrations' head: say so, as
    # `hub db upgrade` would have, or /health/ready rightly answers 503.
    command.stamp(alembic_config(ctx.engine.url.render_as_string(hide_password=False)), "head")
    with session_scope(ctx.engine) as s:
        org = create_organisation(s, "Acme")
        add_asset(s, org.id, "PC-01")
        add_contact(s, org.id, "Ann")
        add_product(s, "WS", "Workstation", "30")
        schedule = create_recurring(s, org.id, dt.date(2026, 3, 1))
        add_recurring_line(s, recurring_id=schedule.id, description="Internet",
                           unit_price="45")
    runtime = build_runtime(ctx, broker=StubBroker())
    TOKEN["value"] = create_token(ctx.engine, "schemathesis")
    app = create_app(ctx, runtime)
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    runtime.close()


@pytest.mark.timeout(1200)
def test_api_answers_match_its_schema_and_never_fail(api_schema):
    headers = {"Authorization": f"Bearer {TOKEN['value']}"}
    checks = [not_a_server_error, status_code_conformance, content_type_conformance,
              response_schema_conformance]
    failures, operations = [], 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  phases=[Phase.explicit, Phase.generate], derandomize=True,
                  suppress_health_check=list(HealthCheck))
        def call(case):
            case.call_and_validate(headers=headers, checks=checks)

        try:
            call()
        except Exception as exc:  # noqa: BLE001 - every failing operation is listed below
            failures.append(f"{operation.label}: {str(exc).strip()[:600]}")
    assert operations > 30
    assert not failures, "\n\n".join(failures)
