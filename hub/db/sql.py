"""Small SQL expressions shared by every service that works on many rows at once."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any, Iterable, Mapping, Sequence

from sqlalchemy import ARRAY, JSON, Integer, any_, bindparam, column, func, insert, update

__all__ = ["among", "update_rows", "insert_rows", "json_insert"]


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


def insert_rows(conn: Any, table: Any, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` through the Connection ``conn`` (each row naming every column it sets;
    no Python-side column default is applied) in their order, so their ids follow it: one
    ``INSERT ... SELECT FROM json_populate_recordset()`` on PostgreSQL (:func:`json_insert`),
    one ``executemany`` elsewhere (SQLite's C loop over a statement compiled once)."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        json_insert(conn, table, rows)
        return
    conn.execute(insert(table), list(rows))


def json_insert(conn: Any, table: Any, rows: Sequence[Mapping[str, Any]], *,
                  suffix: str = "") -> Any:
    """PostgreSQL: ``INSERT INTO table (...) SELECT ... FROM json_populate_recordset(NULL::table,
    :rows) WITH ORDINALITY ORDER BY ordinality <suffix>`` (the rows as one JSON document, each
    value in PostgreSQL's text input form, read by the column's own type); returns the result.

    An ``executemany`` sends, and psycopg converts in Python, one parameter set per row (most
    of the cost of writing thousands of rows; with RETURNING SQLAlchemy rewrites it into one
    multi-row VALUES statement of a placeholder per value, which psycopg re-parses on every
    execution); text arrays, one per column, are escaped value by value by psycopg in Python
    too. Here the statement is short and the rows travel as one string made by the json
    module's C encoder. Values first go through the column's own bind processing, so
    ExactDecimal still refuses what it refuses. Ordered by position, so the rows get their ids
    in the order given. ``suffix``: e.g. ``ON CONFLICT ... RETURNING``."""
    dialect = conn.dialect
    names = list(dict.fromkeys(name for row in rows for name in row))
    columns: dict[str, list[Any]] = {}
    for name in names:
        col = table.c[name]
        values = [row.get(name) for row in rows]
        if not isinstance(col.type, JSON):  # JSON columns take the value itself
            process = col.type.bind_processor(dialect)
            if process is not None:
                values = [process(v) for v in values]
            values = [_as_text(v) for v in values]
        columns[name] = values
    document = json.dumps([dict(zip(names, values)) for values in zip(*columns.values())])
    preparer = dialect.identifier_preparer
    quoted = ", ".join(preparer.quote(n) for n in names)
    table_name = preparer.format_table(table)
    sql = (f"INSERT INTO {table_name} ({quoted}) SELECT {quoted} FROM "
           f"json_populate_recordset(NULL::{table_name}, %(rows)s::json) WITH ORDINALITY "
           f"ORDER BY ordinality {suffix}")
    return conn.exec_driver_sql(sql, {"rows": document})


def _as_text(value: Any) -> str | None:
    """PostgreSQL's text input form of a bound value."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)
