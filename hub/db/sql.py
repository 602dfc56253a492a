"""Small SQL expressions shared by every service that works on many rows at once."""

from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy import ARRAY, Integer, any_, bindparam

__all__ = ["among"]


def among(column: Any, ids: Iterable[int], bind: Any) -> Any:
    """``column IN ids``; on PostgreSQL written ``column = ANY(:array)``: one parameter, so the
    statement stays short and psycopg parses it once, where an IN list of 500 ids is 500
    placeholders parsed on every execution (about 3x slower per query)."""
    ids = list(ids)
    if bind.dialect.name == "postgresql":
        return column == any_(bindparam(None, ids, type_=ARRAY(Integer())))
    return column.in_(ids)
