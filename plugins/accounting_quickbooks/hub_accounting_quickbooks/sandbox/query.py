"""QuickBooks' query language, the subset the plugin uses::

    select * from Invoice where DocNumber in ('INV-1', 'INV-2') maxresults 100
    select * from Payment where PaymentRefNum = 'HUB-PAY-7'
    select * from Invoice where MetaData.LastUpdatedTime >= '2026-11-01T00:00:00Z'
        startposition 1001 maxresults 1000

Conditions are ``=``, ``in``, ``>=``, ``<=``, ``>``, ``<`` on a (dotted) field, joined by
``and`` (QuickBooks has no ``or``). Anything else is a ``QueryParserError`` like QuickBooks'.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from hub_accounting_quickbooks.sandbox.books import QboFault

__all__ = ["Query", "parse_query", "MAX_RESULTS"]

MAX_RESULTS = 1000
_STRING = r"'(?:[^'\\]|\\.)*'"
_STATEMENT = re.compile(
    r"^\s*select\s+\*\s+from\s+(?P<entity>\w+)(?:\s+where\s+(?P<where>.+?))?"
    r"(?:\s+orderby\s+(?P<order>[\w.]+)(?:\s+(?:asc|desc))?)?"
    r"(?:\s+startposition\s+(?P<start>\d+))?(?:\s+maxresults\s+(?P<max>\d+))?\s*$",
    re.IGNORECASE | re.DOTALL)
_CONDITION = re.compile(
    rf"^\s*(?P<field>[A-Za-z][\w.]*)\s*(?:(?P<op>>=|<=|=|>|<)\s*(?P<value>{_STRING})|"
    rf"\s+in\s*\((?P<values>\s*{_STRING}(?:\s*,\s*{_STRING})*\s*)\))\s*$", re.IGNORECASE)


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text.strip()[1:-1])


def _parse_fault(statement: str, why: str) -> QboFault:
    return QboFault("4000", "Error parsing query",
                    f"QueryParserError: {why} in: {statement[:200]}", kind="QueryParserError")


@dataclass(frozen=True)
class Query:
    """A parsed statement: entity, predicate, paging."""

    entity: str
    predicate: Callable[[dict[str, Any]], bool]
    start: int
    max_results: int


def _value(doc: dict[str, Any], path: list[str]) -> Any:
    for part in path:
        doc = doc.get(part) if isinstance(doc, dict) else None
    if isinstance(doc, dict) and "value" in doc:
        return doc["value"]  # a reference compares by its value
    return doc


def parse_query(statement: str) -> Query:
    """Parse ``statement`` or raise the fault QuickBooks would answer."""
    match = _STATEMENT.match(statement)
    if not match:
        raise _parse_fault(statement, "unsupported statement")
    terms = []
    where = match["where"]
    for part in re.split(r"\s+and\s+", where, flags=re.IGNORECASE) if where else []:
        cond = _CONDITION.match(part)
        if not cond:
            raise _parse_fault(statement, f"unsupported condition {part.strip()!r}")
        path = cond["field"].split(".")
        if cond["values"] is not None:
            wanted = {_unquote(v) for v in re.findall(_STRING, cond["values"])}
            terms.append(lambda d, p=path, w=wanted: str(_value(d, p)) in w)
        else:
            op, value = cond["op"], _unquote(cond["value"])
            compare = {"=": lambda a, b: a == b, ">=": lambda a, b: a >= b,
                       "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
                       "<": lambda a, b: a < b}[op]
            terms.append(lambda d, p=path, c=compare, v=value:
                         _value(d, p) is not None and c(str(_value(d, p)), v))
    maximum = int(match["max"] or 100)
    if maximum > MAX_RESULTS:
        raise _parse_fault(statement, f"maxresults {maximum} is over {MAX_RESULTS}")
    return Query(match["entity"], lambda d: all(t(d) for t in terms),
                 max(1, int(match["start"] or 1)), maximum)
