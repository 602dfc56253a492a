"""Counter filters (``CountQuery.filters``): which keys each stored counter understands, and
matching rows against them in SQL or in Python.

A key is a column (assets: ``asset_type``, ``policy``, ``status``, ``name``; users: ``name``,
``email``; usage: ``sku``, ``tenant_external_id``) or ``attributes.<key>`` for the JSON
attributes. A value is a scalar (equality) or a list (any of). An unknown key is refused, never
ignored: a misspelt filter must not silently bill every device.
"""

from __future__ import annotations

import json
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Iterable, Mapping

from hub.errors import ValidationFailed

__all__ = ["FILTER_COLUMNS", "OUT_OF_SERVICE_ASSET_STATUSES", "split_filters", "column_conditions", "attributes_match",
           "comparable_in_python", "columns_match"]

#: The columns each kind of stored counter filters on (besides ``attributes.<key>``).
FILTER_COLUMNS: dict[str, tuple[str, ...]] = {
    "assets": ("asset_type", "policy", "status", "name"),
    "users": ("name", "email"),
    "usage": ("sku", "tenant_external_id"),
}

#: Asset statuses that mean the device has left service. An asset counter without a
#: ``status`` filter counts every device *in service* — active, offline for a while, pending
#: approval — and never these (#19: retired devices were billed). A line that wants them after
#: all says so with an explicit ``status`` filter.
OUT_OF_SERVICE_ASSET_STATUSES: frozenset[str] = frozenset(
    {"retired", "decommissioned", "disposed", "archived"})


def split_filters(filters: Mapping[str, Any], columns: Iterable[str], kind: str
                  ) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """Column filters and ``attributes.*`` filters (read-only: a split is shared by every
    count that asks with the same filters); unknown keys are refused."""
    if not filters:
        return _NO_FILTERS
    try:
        key = (kind, tuple(columns), tuple(filters.items()))
        return _split_cached(key)
    except TypeError:  # a list value is not hashable: split it each time
        return _split(filters, columns, kind)


# Shared by every caller with the same filters: plain dicts (a read-only proxy costs a Python
# call per look-up), which no caller changes.
_NO_FILTERS: tuple[Mapping[str, Any], Mapping[str, Any]] = ({}, {})


@lru_cache(maxsize=1024)
def _split_cached(key: tuple) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    kind, columns, items = key
    return _split(dict(items), columns, kind)


def _split(filters: Mapping[str, Any], columns: Iterable[str], kind: str
           ) -> tuple[dict[str, Any], dict[str, Any]]:
    column_filters: dict[str, Any] = {}
    attribute_filters: dict[str, Any] = {}
    allowed = tuple(columns)
    for key, value in filters.items():
        if key.startswith("attributes."):
            attribute_filters[key.removeprefix("attributes.")] = value
        elif key in allowed:
            column_filters[key] = value
        else:
            raise ValidationFailed(
                f"unknown {kind} counter filter {key!r}",
                hint=f"use one of {', '.join(allowed)} or attributes.<name>")
    return column_filters, attribute_filters


def column_conditions(model: Any, column_filters: Mapping[str, Any]) -> list[Any]:
    """SQL conditions for ``column_filters`` on ``model``."""
    conditions = []
    for key, value in column_filters.items():
        column = getattr(model, key)
        if isinstance(value, (list, tuple, set, frozenset)):
            conditions.append(column.in_(list(value)))
        else:
            conditions.append(column == value)
    return conditions


def attributes_match(attributes: Mapping[str, Any] | str | None, wanted: Mapping[str, Any]
                     ) -> bool:
    """Whether a row's JSON ``attributes`` hold every ``wanted`` value."""
    # Filtered in Python: JSON operators differ between SQLite and PostgreSQL, and the rows
    # are already narrowed to one organisation by SQL.
    if wanted and isinstance(attributes, str):
        attributes = parse_attributes(attributes)  # a prefetched row keeps the JSON text
    for key, value in wanted.items():
        actual = attributes.get(key) if attributes else None
        if isinstance(value, (list, tuple, set, frozenset)):
            if actual not in value:
                return False
        elif actual != value:
            return False
    return True


@lru_cache(maxsize=1024)
def parse_attributes(text: str) -> Mapping[str, Any] | None:
    """JSON attributes text, parsed once per distinct text (most rows of a run share a few),
    read-only since the parsed value is shared."""
    value = json.loads(text)
    return MappingProxyType(value) if isinstance(value, dict) else value


def plain_value(value: Any) -> bool:
    return value is None or isinstance(value, str)


def comparable_in_python(column_filters: Mapping[str, Any]) -> bool:
    """True when Python equality gives what SQL ``=`` / ``IN`` gives: text (or NULL) values.
    Other values (numbers, booleans) are left to the database's own comparison rules."""
    for value in column_filters.values():
        if isinstance(value, (list, tuple, set, frozenset)):
            if not all(plain_value(v) for v in value):
                return False
        elif not plain_value(value):
            return False
    return True


def columns_match(row: Any, column_filters: Mapping[str, Any]) -> bool:
    """Python twin of :func:`column_conditions` for prefetched rows."""
    for key, value in column_filters.items():
        actual = getattr(row, key)
        if isinstance(value, (list, tuple, set, frozenset)):
            # SQL ``IN`` never matches NULL, even with NULL in the list.
            if actual is None or actual not in value:
                return False
        elif actual != value:
            return False
    return True
