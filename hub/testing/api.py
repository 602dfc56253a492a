"""The REST API in-process, with a token, for tests that drive it as an integrator would."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

__all__ = ["api_client"]


@contextmanager
def api_client(ctx: Any, token_name: str = "tests") -> Iterator[Any]:
    """A :class:`fastapi.testclient.TestClient` of the hub's app over ``ctx`` (jobs go to a
    stub broker), sending a bearer token made for ``token_name``; closed afterwards."""
    from dramatiq.brokers.stub import StubBroker
    from fastapi.testclient import TestClient

    from hub.jobs import build_runtime
    from hub.web.app import create_app
    from hub.web.tokens import create_token

    runtime = build_runtime(ctx, broker=StubBroker())
    try:
        with TestClient(create_app(ctx, runtime), headers={
                "Authorization": f"Bearer {create_token(ctx.engine, token_name)}"}) as client:
            yield client
    finally:
        runtime.close()
