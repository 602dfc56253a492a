"""Stripe's own OpenAPI description (``spec3.yaml``) as the sandbox's request checker.

Stripe answers ``400 parameter_unknown`` for a parameter it does not know, ``parameter_missing``
for a required one left out and ``parameter_invalid_*`` for a wrong type or enum value; the
sandbox does the same for every operation it serves, from the vendor's file rather than from a
list we typed, so a request our plugin sends that real Stripe would refuse fails in tests too.

Also here: Stripe's form encoding (``metadata[k]=v``, ``expand[0]=x``) decoded to nested values,
and :func:`response_validator` to check what the sandbox answers against the spec's schemas.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import yaml

__all__ = ["ParamError", "load_spec", "default_spec_path", "decode_form", "Operation",
           "operation", "check_params", "response_validator", "SPEC_ENV"]

SPEC_ENV = "HUB_STRIPE_SPEC"
#: Stripe's spec3.yaml and fixtures3.json, byte for byte as stripe/openapi publishes them (MIT,
#: see ``specs/LICENSE`` and ``specs/SOURCE.md``), shipped so that a clone anywhere can test.
PACKAGED_SPEC = Path(__file__).with_name("specs") / "spec3.yaml"


class ParamError(Exception):
    """A request Stripe would refuse; ``code`` and ``param`` as in Stripe's error object."""

    def __init__(self, code: str, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param


def default_spec_path() -> Path:
    """``$HUB_STRIPE_SPEC`` (another API version's spec3.yaml), else the packaged copy."""
    return Path(os.environ.get(SPEC_ENV) or PACKAGED_SPEC)


def load_spec(path: str | None = None) -> dict[str, Any]:
    """The parsed spec, cached per process and (as JSON, 20x faster to read than the 4 MB of
    YAML) in the temp folder, keyed by the file's size and modification time."""
    return _load_spec(str(Path(path or default_spec_path()).resolve()))


@lru_cache(maxsize=2)
def _load_spec(path: str) -> dict[str, Any]:
    stat = os.stat(path)
    cached = Path(tempfile.gettempdir()) / f"hub-stripe-spec-{stat.st_size}-{stat.st_mtime_ns}.json"
    if cached.exists():
        try:
            return json.loads(cached.read_text(encoding="utf-8"))
        except ValueError:
            pass  # a half-written cache from a killed run: parse the YAML again
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(path, encoding="utf-8") as handle:
        spec = yaml.load(handle, Loader=loader)
    partial = cached.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(json.dumps(spec), encoding="utf-8")
    os.replace(partial, cached)
    return spec


# ----------------------------------------------------------------------------- form decoding
_SEGMENT = re.compile(r"\[([^\]]*)\]")


def _listify(value: Any) -> Any:
    if isinstance(value, dict):
        value = {k: _listify(v) for k, v in value.items()}
        if value and all(k.isdigit() or k.startswith("\0") for k in value):
            return [value[k] for k in sorted(value, key=lambda k: (len(k), k))]
    return value


def decode_form(text: str) -> dict[str, Any]:
    """``a[b]=1&c[0]=x&c[1]=y`` -> ``{"a": {"b": "1"}, "c": ["x", "y"]}`` (values stay text)."""
    root: dict[str, Any] = {}
    appended = 0
    for key, value in parse_qsl(text, keep_blank_values=True):
        head = key.split("[", 1)[0]
        parts = [head, *_SEGMENT.findall(key[len(head):])]
        node = root
        for i, part in enumerate(parts):
            if part == "":  # "x[]=" appends
                part = f"\0{appended:08d}"
                appended += 1
            if i == len(parts) - 1:
                node[part] = value
            else:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):
                    raise ParamError("parameter_invalid_string",
                                     f"Invalid string: {key} mixes a value and an object", key)
                node = child
    return _listify(root)


# ----------------------------------------------------------------------------- operations
@dataclass(frozen=True)
class Operation:
    """One spec operation: its parameters' schemas and which are required."""

    method: str
    template: str
    params: dict[str, Any]
    required: frozenset[str]
    responses: dict[str, Any]


def operation(method: str, template: str, path: str | None = None) -> Operation:
    """The operation ``method template`` (e.g. ``post /v1/payment_intents``) from the spec."""
    return _operation(method.lower(), template, path)


@lru_cache(maxsize=256)
def _operation(method: str, template: str, path: str | None) -> Operation:
    spec = load_spec(path)
    try:
        op = spec["paths"][template][method]
    except KeyError:
        raise KeyError(f"spec3.yaml has no operation {method.upper()} {template}") from None
    params: dict[str, Any] = {}
    required: set[str] = set()
    for p in op.get("parameters", []):
        if p["in"] == "query":
            params[p["name"]] = p.get("schema", {})
            if p.get("required"):
                required.add(p["name"])
    body = (op.get("requestBody", {}).get("content", {})
            .get("application/x-www-form-urlencoded", {}).get("schema"))
    if body and method != "get":
        params.update(body.get("properties", {}))
        required.update(body.get("required", []))
    return Operation(method, template, params, frozenset(required), op.get("responses", {}))


def _resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def _problems(value: Any, schema: dict[str, Any], where: str, spec: dict) -> list[ParamError]:
    """Why ``value`` (form text, decoded) does not fit ``schema``; empty when it fits."""
    schema = _resolve(schema, spec)
    if "anyOf" in schema:
        best: list[ParamError] | None = None
        for branch in schema["anyOf"]:
            found = _problems(value, branch, where, spec)
            if not found:
                return []
            if best is None or _rank(found) > _rank(best):
                best = found
        return best or []
    kind = schema.get("type")
    if isinstance(value, dict):
        if kind not in (None, "object"):
            return [ParamError(f"parameter_invalid_{kind}", f"Invalid {kind}: {where}", where)]
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        found = []
        for key, item in value.items():
            inner = f"{where}[{key}]"
            if props is not None and key in props:
                found += _problems(item, props[key], inner, spec)
            elif isinstance(extra, dict):
                found += _problems(item, extra, inner, spec)
            elif extra is True or (props is None and extra is None):
                continue
            else:
                found.append(ParamError("parameter_unknown",
                                        f"Received unknown parameter: {inner}", inner))
        return found
    if isinstance(value, list):
        if kind not in (None, "array"):
            return [ParamError(f"parameter_invalid_{kind}", f"Invalid {kind}: {where}", where)]
        items = schema.get("items", {})
        return [p for i, item in enumerate(value) for p in _problems(item, items, f"{where}[{i}]", spec)]
    # a scalar, as text
    if kind in ("object", "array"):
        if value == "" and kind == "object":
            return []  # Stripe unsets an object (e.g. metadata) with an empty value
        return [ParamError(f"parameter_invalid_{kind}", f"Invalid {kind}: {where}", where)]
    if kind == "integer" and not re.fullmatch(r"-?\d+", value):
        return [ParamError("parameter_invalid_integer", f"Invalid integer: {value}", where)]
    if kind == "boolean" and value not in ("true", "false"):
        return [ParamError("parameter_invalid_boolean", f"Invalid boolean: {value}", where)]
    if kind == "number" and not re.fullmatch(r"-?\d+(\.\d+)?", value):
        return [ParamError("parameter_invalid_number", f"Invalid number: {value}", where)]
    if "enum" in schema and value not in schema["enum"]:
        options = ", ".join(f"`{o}`" for o in schema["enum"])
        return [ParamError("parameter_invalid_string",
                           f"Invalid {where}: must be one of {options}", where)]
    if kind == "string" and "maxLength" in schema and len(value) > schema["maxLength"]:
        return [ParamError("parameter_invalid_string_too_long",
                           f"Invalid string: {where} is longer than {schema['maxLength']}", where)]
    return []


def _rank(found: list[ParamError]) -> int:
    # Report the branch that got furthest: an unknown nested key beats a type mismatch at the top.
    return -len(found) + sum(p.code == "parameter_unknown" for p in found) * 10


def check_params(op: Operation, params: dict[str, Any], *, path: str | None = None) -> None:
    """Raise :class:`ParamError` as Stripe would for the first problem with ``params``."""
    spec = load_spec(path)
    for name in params:
        if name not in op.params:
            raise ParamError("parameter_unknown", f"Received unknown parameter: {name}", name)
    for name in sorted(op.required):
        if name not in params:
            raise ParamError("parameter_missing", f"Missing required param: {name}.", name)
    for name, value in params.items():
        found = _problems(value, op.params[name], name, spec)
        if found:
            raise found[0]


# ----------------------------------------------------------------------------- responses
def _jsonschema(schema: Any) -> Any:
    """OpenAPI 3.0 -> JSON Schema: ``nullable`` becomes a ``null`` alternative; refs kept."""
    if isinstance(schema, list):
        return [_jsonschema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _jsonschema(v) for k, v in schema.items()
           if not k.startswith("x-") and k != "nullable"}
    if "$ref" in out:
        out["$ref"] = out["$ref"].replace("#/components/schemas/", "#/$defs/")
    if schema.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


def response_validator(component: str, *, path: str | None = None):
    """A ``jsonschema`` validator for component schema ``component`` (e.g. ``payment_intent``)."""
    import jsonschema

    defs = _converted_components(path)
    schema = {"$defs": defs, "$ref": f"#/$defs/{component}"}
    return jsonschema.Draft202012Validator(schema)


@lru_cache(maxsize=2)
def _converted_components(path: str | None) -> dict[str, Any]:
    return _jsonschema(load_spec(path)["components"]["schemas"])
