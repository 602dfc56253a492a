"""JSON with exact decimals: amounts leave and enter as JSON numbers, never via float.

For plugins (``from hub import exact_json``) that speak JSON to a vendor whose amounts are
numbers (Xero, QuickBooks).

``json.dumps`` cannot write a ``Decimal`` as a number, and going through ``float`` would put
binary rounding errors on invoices. Decimals are written as marked strings, then the marks are
replaced by the decimal's own digits; reading uses ``parse_float=Decimal``.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

__all__ = ["dumps", "loads"]

_MARK = "\u0001dec:"
_MARKED = re.compile(r'"\\u0001dec:(-?[0-9]+(?:\.[0-9]+)?)"')


def _mark(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{_MARK}{value:f}"
    if isinstance(value, dict):
        return {k: _mark(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_mark(v) for v in value]
    if isinstance(value, float):
        raise TypeError(f"float {value!r} in a document for a vendor: use Decimal")
    return value


def dumps(value: Any) -> bytes:
    """Serialise ``value`` to UTF-8 JSON, writing every ``Decimal`` as an exact number."""
    text = json.dumps(_mark(value), separators=(",", ":"), ensure_ascii=True)
    return _MARKED.sub(r"\1", text).encode("utf-8")


def loads(data: bytes | str) -> Any:
    """Parse JSON, reading every non-integer number as a ``Decimal``."""
    return json.loads(data, parse_float=Decimal)
