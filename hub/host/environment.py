"""Settings from ``PREFIX_*`` environment variables, read into the shape of a pydantic model.

The rules are pydantic-settings' (``EnvSettingsSource`` with ``case_sensitive=False``), which
the hub used before:

- ``HUB_LOG_LEVEL=DEBUG`` sets the field ``log_level``; names are compared without case;
- a field holding a model, a list or a dict takes JSON (``HUB_WEB__TRUSTED_PROXIES='["10.0.0.1"]'``,
  ``HUB_CONNECTIONS='[{"name": "xero", "plugin": "xero"}]'``);
- with a nested delimiter (``__``) one key of a section is set on its own
  (``HUB_COMPANY__CURRENCY=EUR``) and merged into the rest of that section;
- an empty value is a value (``""``), not "unset".

Why not pydantic-settings itself: importing it imports asyncio, argparse and its cloud secret
sources, about 80 ms of the 300 ms in which ``hub status`` has to answer (bench/cli_start.py,
issue #21), for a job of a few dozen lines. And a refusal has to name the variable that held
the bad value (``environment variable HUB_COMPANY__CURRENCY``); pydantic-settings keeps no
record of where a value came from, so a bad variable was reported at a line of ``hub.toml``
it was not on, and bad JSON in a variable ended in a traceback.
"""

from __future__ import annotations

import json
import os
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Union

from pydantic import BaseModel

from hub.errors import ConfigError

__all__ = ["EnvironmentValues", "read_environment", "deep_merge"]

_CONTAINERS = (list, tuple, set, frozenset, dict)


@dataclass
class EnvironmentValues:
    """What the environment sets for a model: ``values`` in the model's shape, and for each
    key path set (``("company", "currency")``) the variable that set it."""

    values: dict[str, Any] = field(default_factory=dict)
    names: dict[tuple[str, ...], str] = field(default_factory=dict)

    def variable_for(self, loc: tuple[Any, ...]) -> str | None:
        """The variable that supplied the value at ``loc`` (a validation error's location) or
        one of its parents; None when the value came from elsewhere."""
        for end in range(len(loc), 0, -1):
            name = self.names.get(tuple(str(part) for part in loc[:end]))
            if name is not None:
                return name
        return None


def _members(annotation: Any) -> list[Any]:
    """The non-None members of ``X | Y | None`` (or ``[annotation]``)."""
    if typing.get_origin(annotation) in (Union, types.UnionType):
        return [a for a in typing.get_args(annotation) if a is not type(None)]
    return [annotation]


def _is_complex(annotation: Any) -> bool:
    """A model, list, tuple, set or dict: given as JSON in one variable."""
    if isinstance(annotation, type) and issubclass(annotation, (BaseModel, *_CONTAINERS)):
        return True
    origin = typing.get_origin(annotation)
    return isinstance(origin, type) and issubclass(origin, (*_CONTAINERS, Mapping))


def _decode(name: str, raw: str, annotation: Any) -> Any:
    """``raw`` as JSON when the field is complex; a field that may also be a plain value (``list
    | str``) keeps a string that is not JSON, as pydantic-settings does."""
    members = _members(annotation)
    if not raw or not any(_is_complex(m) for m in members):
        return raw
    try:
        return json.loads(raw)
    except ValueError as exc:
        if not all(_is_complex(m) for m in members):
            return raw
        raise ConfigError(f"environment variable {name}: not valid JSON ({exc})",
                          hint=f"give {name} as JSON, e.g. '{{\"key\": \"value\"}}' or "
                               "'[\"a\", \"b\"]', or set one key at a time with "
                               f"{name}__KEY=value") from None


def _field_annotation(annotation: Any, key: str) -> Any:
    """The annotation of ``key`` inside a model (or a dict's values), for a nested variable."""
    for member in _members(annotation):
        if isinstance(member, type) and issubclass(member, BaseModel):
            info = member.model_fields.get(key)
            if info is not None:
                return info.annotation
        elif typing.get_origin(member) in (dict, Mapping) and len(typing.get_args(member)) == 2:
            return typing.get_args(member)[1]
    return None


def read_environment(model: type[BaseModel], prefix: str, *, nested_delimiter: str | None = None,
                     environ: Mapping[str, str] | None = None) -> EnvironmentValues:
    """The values ``PREFIX<FIELD>`` variables set for ``model``'s fields (see the module's
    rules). Variables naming no field are left alone: other settings share the prefix."""
    env = {k.lower(): v for k, v in (os.environ if environ is None else environ).items()}
    found = EnvironmentValues()
    for name, info in model.model_fields.items():
        head = f"{prefix}{name}".lower()
        if head in env:
            found.values[name] = _decode(head.upper(), env[head], info.annotation)
            found.names[(name,)] = head.upper()
        if nested_delimiter is None or not any(_is_complex(m) for m in _members(info.annotation)):
            continue
        start = head + nested_delimiter.lower()
        for variable in sorted(k for k in env if k.startswith(start) and len(k) > len(start)):
            keys = variable[len(start):].split(nested_delimiter.lower())
            annotation = info.annotation
            for key in keys:
                annotation = _field_annotation(annotation, key)
            section = found.values.get(name)
            if not isinstance(section, dict):
                if name in found.values:  # a JSON list or scalar: the nested keys cannot apply
                    continue
                section = found.values[name] = {}
            for key in keys[:-1]:
                section = section.setdefault(key, {})
                if not isinstance(section, dict):
                    break
            else:
                section[keys[-1]] = _decode(variable.upper(), env[variable], annotation)
                found.names[(name, *keys)] = variable.upper()
    return found


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``override``'s values on top; dicts present in both are merged key by key
    (``HUB_COMPANY__CURRENCY`` changes one key of the file's ``[company]``, not the section)."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
