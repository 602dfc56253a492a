"""Xero's JSON conventions for answers: ``/Date(ms+0000)/`` dates next to ``DateString``,
an envelope with ``Id``/``Status``/``ProviderName``/``DateTimeUTC``, and its error shapes."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any, Iterable

__all__ = ["msdate", "render", "envelope", "validation_exception", "parse_where",
           "parse_modified_since"]


def msdate(value: dt.date | dt.datetime) -> str:
    """``/Date(1552262400000+0000)/`` as Xero writes dates and times."""
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)
    return f"/Date({int(value.timestamp() * 1000)}+0000)/"


def render(doc: Any) -> Any:
    """A stored document as Xero returns it (dates as msdate plus ``...String``)."""
    if isinstance(doc, dict):
        out: dict[str, Any] = {}
        for key, value in doc.items():
            if isinstance(value, (dt.date, dt.datetime)):
                out[key] = msdate(value)
                if isinstance(value, dt.datetime):
                    out[key + "String"] = value.replace(tzinfo=None).isoformat(timespec="seconds")
                else:
                    out[key + "String"] = f"{value.isoformat()}T00:00:00"
            else:
                out[key] = render(value)
        return out
    if isinstance(doc, list):
        return [render(v) for v in doc]
    return doc


def envelope(now: dt.datetime, key: str, items: Iterable[Any], **extra: Any) -> dict[str, Any]:
    """The standard wrapper of a Xero answer."""
    return {"Id": str(uuid.uuid4()), "Status": "OK", "ProviderName": "hub Xero sandbox",
            "DateTimeUTC": msdate(now), key: [render(i) for i in items], **extra}


def validation_exception(elements: list[dict[str, Any]] | None = None,
                         message: str = "A validation exception occurred") -> dict[str, Any]:
    """Xero's 400 body."""
    return {"ErrorNumber": 10, "Type": "ValidationException", "Message": message,
            "Elements": [render(e) for e in (elements or [])]}


_TERM = re.compile(r'^\s*([A-Za-z][\w.]*)\s*(==|!=)\s*"((?:[^"\\]|\\.)*)"\s*$')
_CALL = re.compile(r'^\s*([A-Za-z][\w.]*)\.(StartsWith|Contains)\("((?:[^"\\]|\\.)*)"\)\s*$')


def parse_where(where: str):
    """A predicate for Xero's ``where`` filter; the subset used here: ``Field=="value"`` and
    ``!=`` terms and ``Field.StartsWith("x")``/``Field.Contains("x")``, joined by ``AND``/``OR``
    (AND binds tighter). Raises ValueError otherwise."""
    alternatives = []
    for alternative in re.split(r"\s+OR\s+", where.strip()):
        terms = []
        for term in re.split(r"\s+AND\s+", alternative):
            m = _TERM.match(term) or _CALL.match(term)
            if not m:
                raise ValueError(f"unsupported where clause term {term!r}")
            terms.append((m.group(1).split("."), m.group(2), m.group(3).replace('\\"', '"')))
        alternatives.append(terms)

    def value_of(doc: dict[str, Any], path: list[str]) -> Any:
        for part in path:
            doc = doc.get(part) if isinstance(doc, dict) else None
        return doc

    def holds(doc: dict[str, Any], path: list[str], op: str, value: str) -> bool:
        actual = value_of(doc, path)
        if op == "StartsWith":
            return isinstance(actual, str) and actual.startswith(value)
        if op == "Contains":
            return isinstance(actual, str) and value in actual
        return (str(actual) == value) == (op == "==")

    def predicate(doc: dict[str, Any]) -> bool:
        return any(all(holds(doc, *term) for term in terms) for terms in alternatives)

    return predicate


def parse_modified_since(value: str) -> dt.datetime:
    """``If-Modified-Since`` as Xero takes it: ISO (UTC assumed) or an HTTP date."""
    from email.utils import parsedate_to_datetime

    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        when = parsedate_to_datetime(value)
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)
