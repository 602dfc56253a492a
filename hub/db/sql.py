"""Small SQL expressions shared by every service that works on many rows at once."""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

from sqlalchemy import ARRAY, Integer, any_, bindparam, column, func, update

__all__ = ["among", "update_rows"]


def among(column: Any, ids: Iterable[int], bind: Any) -> Any:
    """``column IN ids``; on PostgreSQL written ``column = ANY(:array)``: one parameter, so the
    statement stays short and psycopg parses it once, where an IN list of 500 ids is 500
    placeholders parsed on every execution (about 3x slower per query)."""
    ids = list(ids)
    if bind.dialect.name == "postgresql":
        return column == any_(bindparam(None, ids, type_=ARRAY(Integer())))
    # One expanding parameter holding the list: ``in_(ids)`` would coerce every id into a
    # literal of its own first (a billing run builds these with 500 ids, several per chunk).
    return column.in_(bindparam(None, ids, expanding=True, type_=column.type))


def update_rows(conn: Any, table: Any, key: str, rows: Sequence[Mapping[str, Any]],
                types: Mapping[str, Any], **same: Any) -> None:
    """For every row, ``UPDATE table SET <the row's other columns>, <same> WHERE key = row[key]``
    — each row its own values — as one statement on PostgreSQL (``UPDATE ... FROM unnest()`` of
    one array per column: a few parameters, however many rows) and one ``executemany`` on SQLite
    (its C loop over a statement compiled once, where a ``VALUES`` list of hundreds of rows is
    compiled anew on every call). ``types``: the SQL type of each column of ``rows``."""
    if not rows:
        return
    names = list(types)
    if conn.get_bind().dialect.name == "postgresql":
        arrays = [bindparam(None, [row[n] for row in rows], type_=ARRAY(types[n])) for n in names]
        given = func.unnest(*arrays).table_valued(
            *(column(n, types[n]) for n in names), name="given").render_derived("given")
        # The keys once more as ``= ANY(array)``: the planner then looks the rows up by index
        # where it would otherwise hash the whole table to join it with a few hundred rows.
        keys = bindparam(None, [row[key] for row in rows], type_=ARRAY(types[key]))
        conn.execute(update(table).where(table.c[key] == given.c[key],
                                         table.c[key] == any_(keys)).values(
            {**{n: given.c[n] for n in names if n != key}, **same}),
            execution_options={"synchronize_session": False})
        return
    # Parameter names must differ from column names in an UPDATE: prefixed.
    conn.execute(update(table).where(table.c[key] == bindparam("given_" + key)).values(
        {**{n: bindparam("given_" + n) for n in names if n != key}, **same}),
        [{"given_" + n: row[n] for n in names} for row in rows],
        execution_options={"synchronize_session": False})
