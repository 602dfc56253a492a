"""Check requests against Xero's own OpenAPI description (``xero_accounting.yaml``).

The published schemas are lax (almost nothing is ``required`` and unknown properties are
allowed), while real Xero silently drops a misspelt field: that is a bug we want to see. So the
component schemas are tightened before use: every object with declared properties refuses
others (``additionalProperties: false``), and they are checked in *write* context, so sending a
read-only field (``Total``, ``AmountDue``...) fails too. Query parameters must be declared for
the operation and match their schema; the ``xero-tenant-id`` header is required where the spec
says so; ``Idempotency-Key`` is at most 128 characters.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import yaml
from openapi_schema_validator import OAS30WriteValidator

__all__ = ["SpecChecker", "spec_path", "load_checker", "PACKAGED_SPEC"]

_METHODS = {"get", "put", "post", "delete", "patch"}
#: xero_accounting.yaml byte for byte as XeroAPI/Xero-OpenAPI publishes it (MIT, see
#: ``specs/LICENSE`` and ``specs/SOURCE.md``), shipped so that a clone anywhere can test.
PACKAGED_SPEC = Path(__file__).with_name("specs") / "xero_accounting.yaml"


def spec_path() -> Path:
    """Where the Xero Accounting OpenAPI file is: ``HUB_XERO_SPEC`` or the packaged copy."""
    return Path(os.environ.get("HUB_XERO_SPEC") or PACKAGED_SPEC)


def _tighten(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("type") == "object" and "properties" in node \
                and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for value in node.values():
            _tighten(value)
    elif isinstance(node, list):
        for value in node:
            _tighten(value)


@dataclass(frozen=True)
class _Operation:
    template: str
    regex: re.Pattern[str]
    method: str
    parameters: tuple[dict[str, Any], ...]
    body_schema: str | None


class SpecChecker:
    """Validates one request (method, path under the API root, query, headers, body)."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self._spec = spec
        schemas = copy.deepcopy(spec["components"]["schemas"])
        _tighten(schemas)
        self._schemas = schemas
        self._params = spec["components"].get("parameters", {})
        self._operations: list[_Operation] = []
        for template, item in spec["paths"].items():
            shared = [self._param(p) for p in item.get("parameters", [])]
            regex = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$")
            for method, op in item.items():
                if method not in _METHODS:
                    continue
                params = shared + [self._param(p) for p in op.get("parameters", [])]
                body = None
                content = (op.get("requestBody") or {}).get("content", {})
                ref = content.get("application/json", {}).get("schema", {}).get("$ref")
                if ref:
                    body = ref.rsplit("/", 1)[-1]
                self._operations.append(_Operation(template, regex, method.upper(),
                                                   tuple(params), body))
        # literal templates first, so /Invoices/{InvoiceID} never shadows a fixed path
        self._operations.sort(key=lambda o: o.template.count("{"))

    def _param(self, p: Mapping[str, Any]) -> dict[str, Any]:
        if "$ref" in p:
            return self._params[p["$ref"].rsplit("/", 1)[-1]]
        return dict(p)

    @functools.cache
    def _validator(self, schema_name: str) -> OAS30WriteValidator:
        root = {"components": {"schemas": self._schemas},
                "$ref": f"#/components/schemas/{schema_name}"}
        return OAS30WriteValidator(root, format_checker=OAS30WriteValidator.FORMAT_CHECKER)

    def operation(self, method: str, path: str) -> _Operation | None:
        """The spec operation for ``method`` and ``path`` (relative to the API root)."""
        for op in self._operations:
            if op.method == method.upper() and op.regex.match(path):
                return op
        return None

    def errors(self, method: str, path: str, query: Mapping[str, str],
               headers: Mapping[str, str], body: bytes | None) -> list[str]:
        """Every way this request breaks the spec (empty when it conforms)."""
        op = self.operation(method, path)
        if op is None:
            return [f"{method} {path} is not an operation of the Xero Accounting API"]
        problems: list[str] = []
        lower_headers = {k.lower(): v for k, v in headers.items()}
        declared_query = {p["name"]: p for p in op.parameters if p["in"] == "query"}
        for name, value in query.items():
            if name not in declared_query:
                problems.append(f"query parameter {name!r} is not declared for "
                                f"{op.method} {op.template}")
                continue
            problems += self._check_scalar(name, value, declared_query[name].get("schema", {}))
        for p in op.parameters:
            if p["in"] == "header":
                value = lower_headers.get(p["name"].lower())
                if value is None and p.get("required"):
                    problems.append(f"header {p['name']} is required")
            if p["in"] == "query" and p.get("required") and p["name"] not in query:
                problems.append(f"query parameter {p['name']} is required")
        key = lower_headers.get("idempotency-key")
        if key is not None and not (1 <= len(key) <= 128):
            problems.append("Idempotency-Key must be 1 to 128 characters")
        if op.body_schema:
            if not body:
                problems.append(f"a JSON body ({op.body_schema}) is required")
            else:
                try:
                    document = json.loads(body)
                except ValueError as exc:
                    problems.append(f"body is not JSON: {exc}")
                else:
                    for err in self._validator(op.body_schema).iter_errors(document):
                        where = "/".join(str(x) for x in err.absolute_path) or "(body)"
                        problems.append(f"{op.body_schema} at {where}: {err.message}")
        elif body:
            problems.append(f"{op.method} {op.template} takes no body")
        return problems

    @staticmethod
    def _check_scalar(name: str, value: str, schema: Mapping[str, Any]) -> list[str]:
        kind = schema.get("type")
        if kind == "boolean" and value not in ("true", "false"):
            return [f"query parameter {name}={value!r} is not a boolean"]
        if kind == "integer" and not re.fullmatch(r"-?\d+", value):
            return [f"query parameter {name}={value!r} is not an integer"]
        return []


@functools.cache
def load_checker(path: str | None = None) -> SpecChecker:
    """The checker for the Xero Accounting spec (parsed once per process)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(path or spec_path(), encoding="utf-8") as fh:
        return SpecChecker(yaml.load(fh, Loader=loader))
