"""Reading Xero's dates: ``DateString`` when present, else ``/Date(ms+0000)/``."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Mapping

__all__ = ["xero_date", "xero_datetime"]

_MS = re.compile(r"/Date\((-?\d+)([+-]\d{4})?\)/")


def xero_datetime(value: Any) -> dt.datetime | None:
    """An aware UTC datetime from a Xero msdate or ISO string."""
    if not value:
        return None
    text = str(value)
    m = _MS.fullmatch(text)
    if m:
        return dt.datetime.fromtimestamp(int(m.group(1)) / 1000, tz=dt.timezone.utc)
    when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def xero_date(doc: Mapping[str, Any], key: str = "Date") -> dt.date | None:
    """The calendar date of ``doc[key]`` (via ``<key>String`` when Xero sent it)."""
    value = doc.get(f"{key}String") or doc.get(key)
    when = xero_datetime(value)
    return when.date() if when else None
