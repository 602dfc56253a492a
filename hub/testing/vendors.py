"""Helpers for testing a connector against its vendor sandbox and the vendor's API description.

For plugin authors as much as for the hub's own tests::

    from hub.testing.vendors import assert_matches_schema, serve_sandbox

    @pytest.fixture
    def sandbox():
        with serve_sandbox(create_app, generate(sites=3)) as (data, control, url):
            yield data, control, url

    def test_site_matches_the_spec(spec, sandbox):
        data, _, _ = sandbox
        for site in data.sites.values():
            assert_matches_schema(spec, "Site", site)

- :func:`serve_sandbox` builds the sandbox app (``create_app(data, control)``, the shape every
  connector's ``sandbox.py`` exposes) with a fresh :class:`hub.testing.vendor_sandbox.SandboxControl`, runs it
  on a free local port and yields ``(data, control, url)``: the world to change between pulls,
  the switch for rate limits and injected failures, and the base URL for the connection;
- :func:`assert_matches_schema` checks a record against a named schema of an OpenAPI
  description (``components.schemas``) and that it carries no field the schema leaves out.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, Mapping, TypeVar

from hub.testing.vendor_sandbox import SandboxControl, serve

__all__ = ["serve_sandbox", "assert_matches_schema"]

D = TypeVar("D")


@contextmanager
def serve_sandbox(create_app: Callable[[D, SandboxControl], Any], data: D
                  ) -> Iterator[tuple[D, SandboxControl, str]]:
    """Serve ``create_app(data, control)`` on 127.0.0.1; yields ``(data, control, url)``."""
    control = SandboxControl()
    with serve(create_app(data, control)) as url:
        yield data, control, url


def assert_matches_schema(spec: dict[str, Any], schema_name: str, instance: dict[str, Any], *,
                          validator: Any = None,
                          also_declared: Mapping[str, Iterable[str]] | None = None) -> None:
    """Assert ``instance`` is valid against ``#/components/schemas/<schema_name>`` of ``spec``
    and has no field the schema does not declare.

    ``validator`` is the jsonschema validator class of the spec's dialect (default
    ``Draft7Validator``; OpenAPI 3.1 descriptions want ``Draft202012Validator``);
    ``also_declared`` maps a schema name to fields the vendor sends that its schema omits (e.g.
    shown only in its examples).
    """
    import jsonschema  # a test dependency only: imported when a test checks a spec

    validator = validator or jsonschema.Draft7Validator
    root = {"components": spec["components"], "$ref": f"#/components/schemas/{schema_name}"}
    errors = [e.message for e in validator(root).iter_errors(instance)]
    assert errors == [], f"{schema_name}: {errors}"
    declared = set(spec["components"]["schemas"][schema_name]["properties"])
    declared |= set((also_declared or {}).get(schema_name, ()))
    assert set(instance) <= declared, f"{schema_name}: undeclared {set(instance) - declared}"
