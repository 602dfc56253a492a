"""Small SQL expressions shared by every service that works on many rows at once."""

from __future__ import annotations

import datetime as dt
import json
from itertools import chain, repeat
from decimal import Decimal
from typing import Any, Iterable, Mapping, Sequence

from sqlalchemy import (
    ARRAY, JSON, Integer, Text, any_, bindparam, cast, column, func, literal_column, select,
    type_coerce, update,
)
from sqlalchemy.sql.elements import Null
from sqlalchemy.types import NullType

from hub.core.money import to_decimal

__all__ = ["among", "update_rows", "insert_rows", "insert_returning", "json_insert",
           "raw_columns", "exact_decimal"]


def among(column: Any, ids: Iterable[int], bind: Any) -> Any:
    """``column IN ids``; on PostgreSQL written ``column = ANY(:array)``: one parameter, so the
    statement stays short and psycopg parses it once, where an IN list of 500 ids is 500
    placeholders parsed on every execution (about 3x slower per query). No parameter limit
    applies however many ids there are."""
    ids = list(ids)
    if bind.dialect.name == "postgresql":
        return column == any_(bindparam(None, ids, type_=ARRAY(Integer())))
    # SQLite: ``column IN (SELECT value FROM json_each(:ids))``, the ids as one JSON text. An
    # expanding parameter is rendered and bound as one placeholder per id on every execution
    # (a billing run sends several lists of hundreds of ids per chunk); SQLite looks the
    # subquery's values up in the column's index just the same.
    listed = select(literal_column("value")).select_from(
        func.json_each(bindparam(None, json.dumps(ids), type_=Text())))
    return column.in_(listed.scalar_subquery())


def update_rows(conn: Any, table: Any, key: str, rows: Sequence[Mapping[str, Any]],
                types: Mapping[str, Any], **same: Any) -> None:
    """For every row, ``UPDATE table SET <the row's other columns>, <same> WHERE key = row[key]``
    — each row its own values — as one statement on PostgreSQL (``UPDATE ... FROM
    json_to_recordset()`` of one JSON document: a few parameters, however many rows) and one
    driver ``executemany`` on SQLite (its C loop over a statement compiled once, where a
    ``VALUES`` list of hundreds of rows is compiled anew on every call). Values go through
    their column's bind processing, as :func:`insert_rows` does. ``types``: the SQL type of
    each column of ``rows``."""
    if not rows:
        return
    names = list(types)
    if conn.get_bind().dialect.name == "postgresql":
        # The rows as one JSON document (json.dumps, in C) read by json_to_recordset: an array
        # per column for unnest() is escaped value by value by psycopg, in Python.
        dialect = conn.get_bind().dialect
        columns = [_column_values(dialect, table, n, [row[n] for row in rows], as_text=True)
                   for n in names]
        document = json.dumps([dict(zip(names, values)) for values in zip(*columns)])
        given = func.json_to_recordset(cast(bindparam(None, document, type_=Text()), JSON())
                                       ).table_valued(*(column(n, types[n]) for n in names)
                                                      ).render_derived("given", with_types=True)
        # The keys once more as ``= ANY(array)``: the planner then looks the rows up by index
        # where it would otherwise hash the whole table to join it with a few hundred rows.
        keys = bindparam(None, [row[key] for row in rows], type_=ARRAY(types[key]))
        conn.execute(update(table).where(table.c[key] == given.c[key],
                                         table.c[key] == any_(keys)).values(
            {**{n: given.c[n] for n in names if n != key}, **same}),
            execution_options={"synchronize_session": False})
        return
    # Straight to the driver's executemany, values converted column by column (as
    # insert_rows does; no ORM state is synchronised, as with synchronize_session=False).
    if hasattr(conn, "exec_driver_sql"):
        connection = conn
    else:  # a Session: what it holds unflushed goes first, as its own execute() would do
        conn.flush()
        connection = conn.connection()
    dialect = connection.dialect
    changed = [n for n in names if n != key]
    columns = [_column_values(dialect, table, n, [row[n] for row in rows])
               for n in [*changed, key]]
    fixed = [_column_values(dialect, table, n, [v])[0] for n, v in same.items()]
    preparer = dialect.identifier_preparer
    assignments = ", ".join(f"{preparer.quote(n)} = ?" for n in [*changed, *same])
    sql = (f"UPDATE {preparer.format_table(table)} SET {assignments} "
           f"WHERE {preparer.quote(key)} = ?")
    connection.exec_driver_sql(sql, [(*values[:-1], *fixed, values[-1])
                                     for values in zip(*columns)])


def insert_rows(conn: Any, table: Any, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` through the Connection ``conn`` (each row naming every column it sets;
    no Python-side column default is applied) in their order, so their ids follow it: one
    ``COPY`` on PostgreSQL (:func:`_copy_rows`), one driver ``executemany`` elsewhere (SQLite's
    C loop over a statement compiled once). Values go through their column type's bind
    processing (:func:`_column_values`), so what a column refuses is refused here too."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        _copy_rows(conn, table, rows)
        return
    names, columns = _processed_columns(conn.dialect, table, rows)
    # Straight to the driver's executemany, the values converted column by column: SQLAlchemy's
    # executemany of dicts builds and converts one parameter set per row in Python, which cost
    # more than SQLite's own work (a billing run writes five lines per invoice).
    placeholders = ", ".join("?" * len(names))
    preparer = conn.dialect.identifier_preparer
    sql = (f"INSERT INTO {preparer.format_table(table)} "
           f"({', '.join(preparer.quote(n) for n in names)}) VALUES ({placeholders})")
    conn.exec_driver_sql(sql, list(zip(*columns)))


def _copy_rows(conn: Any, table: Any, rows: Sequence[Mapping[str, Any]]) -> None:
    """PostgreSQL: ``COPY table (...) FROM STDIN`` inside ``conn``'s transaction, the values
    converted column by column as :func:`insert_rows` does. COPY is PostgreSQL's own bulk
    load: the server parses plain text rows, where an ``INSERT ... SELECT`` from a JSON
    document parses JSON and an ``executemany`` parses a statement per batch."""
    dialect = conn.dialect
    # Text forms, each distinct value converted once, JSON serialised as its column does.
    names, columns = _processed_columns(dialect, table, rows, as_text=True, json_as_text=True)
    preparer = dialect.identifier_preparer
    sql = (f"COPY {preparer.format_table(table)} "
           f"({', '.join(preparer.quote(n) for n in names)}) FROM STDIN")
    # The driver's own cursor on this Connection's connection: same transaction.
    with conn.connection.driver_connection.cursor() as cursor:
        with cursor.copy(sql) as copy:
            write = copy.write_row
            for values in zip(*columns):
                write(values)


def _copy_with_ids(conn: Any, table: Any, rows: Sequence[Mapping[str, Any]],
                   returning: Sequence[str]) -> list[tuple] | None:
    """PostgreSQL: ``rows`` with ids taken from the primary key's sequence, COPYed in within a
    savepoint; their ``returning`` columns, or ``None`` when a unique key conflicted (nothing
    of them stays) or the rows do not name every returned column but the id."""
    from psycopg.errors import UniqueViolation  # PostgreSQL only: psycopg is its driver

    (key,) = [c.name for c in table.primary_key.columns]
    if any(name != key and name not in rows[0] for name in returning):
        return None
    ids = conn.exec_driver_sql(
        "SELECT nextval(pg_get_serial_sequence(%(table)s, %(key)s)) "
        "FROM generate_series(1, %(n)s)", {"table": table.name, "key": key, "n": len(rows)}
    ).scalars().all()
    with_ids = [{**row, key: given} for row, given in zip(rows, ids)]
    savepoint = conn.begin_nested()
    try:
        _copy_rows(conn, table, with_ids)
    except UniqueViolation:
        savepoint.rollback()
        return None
    savepoint.commit()
    return [tuple(row[name] for name in returning) for row in with_ids]


def insert_returning(conn: Any, table: Any, rows: Sequence[Mapping[str, Any]], *,
                     skip_conflicts_on: Sequence[str], returning: Sequence[str]) -> list[tuple]:
    """Insert ``rows`` (as :func:`insert_rows` does) except those whose ``skip_conflicts_on``
    columns another row already holds (``ON CONFLICT (...) DO NOTHING``); returns the
    ``returning`` columns of the rows it inserted, as Python values.

    SQLite: multi-row ``VALUES`` statements of as many rows as its parameter limit allows,
    straight to the driver (what SQLAlchemy's "insertmanyvalues" does for an executemany with
    RETURNING, without building and converting a parameter dict per row in Python).
    PostgreSQL: the rows are given ids from the table's sequence and COPYed in, inside a
    savepoint (:func:`_copy_with_ids`); if one of them conflicts (another run holds its key:
    rare, and PostgreSQL makes the COPY wait for that run's transaction first), the savepoint
    is rolled back and :func:`json_insert` inserts them with ``ON CONFLICT ... DO NOTHING``."""
    if not rows:
        return []
    preparer = conn.dialect.identifier_preparer
    conflict = (f"ON CONFLICT ({', '.join(preparer.quote(c) for c in skip_conflicts_on)}) "
                f"DO NOTHING RETURNING {', '.join(preparer.quote(c) for c in returning)}")
    if conn.dialect.name == "postgresql":
        copied = _copy_with_ids(conn, table, rows, returning)
        if copied is not None:
            return copied
        return [tuple(r) for r in json_insert(conn, table, rows, suffix=conflict)]
    dialect = conn.dialect
    names, columns = _processed_columns(dialect, table, rows)
    values = list(zip(*columns))
    per_statement = max(1, dialect.insertmanyvalues_max_parameters // len(names))
    head = (f"INSERT INTO {preparer.format_table(table)} "
            f"({', '.join(preparer.quote(n) for n in names)}) VALUES ")
    one = "(" + ", ".join("?" * len(names)) + ")"
    found: list[tuple] = []
    for start in range(0, len(values), per_statement):
        some = values[start:start + per_statement]
        found += conn.exec_driver_sql(head + ", ".join([one] * len(some)) + " " + conflict,
                                      tuple(v for row in some for v in row)).all()
    processors = [table.c[c].type.dialect_impl(dialect).result_processor(dialect, None)
                  for c in returning]
    if not any(processors):
        return [tuple(r) for r in found]
    return [tuple(v if p is None else p(v) for p, v in zip(processors, r)) for r in found]


#: Python types PostgreSQL takes as they are, in a JSON document (json_populate_recordset and
#: json_to_recordset read a JSON number, string or boolean as the column's value) and in a COPY
#: (psycopg writes them in the column's text form).
_JSON_NATIVE = frozenset({int, str, bool, type(None)})


def _processed_columns(dialect: Any, table: Any, rows: Sequence[Mapping[str, Any]], *,
                       as_text: bool = False, json_as_text: bool = False
                       ) -> tuple[list[str], list[list[Any]]]:
    """The column names ``rows`` set (in first-seen order) and, for each, every row's value
    as :func:`_column_values` converts it; a missing value is NULL."""
    # chain/map instead of comprehensions: the loops run in C, over every value of every row.
    names = list(dict.fromkeys(chain.from_iterable(rows)))
    if all(type(row) is dict for row in rows):
        values = [list(map(dict.get, rows, repeat(name))) for name in names]
    else:
        values = [[row.get(name) for row in rows] for name in names]
    return names, [_column_values(dialect, table, name, column, as_text=as_text,
                                  json_as_text=json_as_text)
                   for name, column in zip(names, values)]


def _column_values(dialect: Any, table: Any, name: str, values: list[Any], *,
                   as_text: bool = False, json_as_text: bool = False) -> list[Any]:
    """``values`` of column ``name`` through the column type's own bind processing (so
    ExactDecimal still refuses what it refuses, and JSON is serialised as the column would).
    ``as_text``: each in PostgreSQL's text input form instead, JSON values as they are (for a
    JSON document, which carries them itself) unless ``json_as_text`` (for a COPY)."""
    column_type = table.c[name].type
    process = column_type.dialect_impl(dialect).bind_processor(dialect)
    if isinstance(column_type, JSON):
        if (as_text and not json_as_text) or process is None:
            return values
        if json_as_text:
            # The JSON text itself, serialised as the column's bind value would be. That value
            # is a psycopg ``Json`` wrapper, which psycopg serialises again for every row a
            # COPY writes, through its Python dumper: a third of storing a chunk's drafts.
            process = _json_text(dialect, column_type)
        # Row by row (a JSON value is not hashable), but the empty list most lines carry
        # (no provenance) is serialised once.
        empty = process([])
        return [empty if v.__class__ is list and not v else process(v) for v in values]
    if process is None and (not as_text or set(map(type, values)) <= _JSON_NATIVE):
        return values  # the driver (or the JSON document) takes these as they are
    if not as_text:
        return _each_distinct_once(values, process)
    convert = _as_text if process is None else (lambda v, p=process: _as_text(p(v)))
    return _each_distinct_once(values, convert)


def _each_distinct_once(values: list[Any], convert: Any) -> list[Any]:
    """``[convert(v) for v in values]``, calling ``convert`` once per distinct value: a run's
    rows repeat the same prices, rates, quantities and dates thousands of times, and the
    conversion (ExactDecimal's checks, a date's text) costs more than a look-up. Keyed by type
    and value, so ``1``, ``True`` and ``Decimal(1)`` (equal in Python) are each converted as
    themselves, and a float is refused however equal it is to a Decimal seen before; values of
    a column of one type are keyed by value alone, which is the same. (The
    loops are ``map``/``zip``/``dict.fromkeys``, in C: a Python loop over every value cost
    as much as the conversions it saved.)"""
    # one type (nearly every column): the values are their own keys, no pair to build
    single = len(set(map(type, values))) == 1
    keys = values if single else list(zip(map(type, values), values))
    converted = dict.fromkeys(keys)
    for key in converted:
        converted[key] = convert(key if single else key[1])
    return list(map(converted.__getitem__, keys))


def _json_text(dialect: Any, column_type: JSON) -> Any:
    """A JSON column's values as the text the database stores, as SQLAlchemy's JSON type binds
    them: serialised by the dialect's serializer (``json.dumps`` unless the engine was given
    another); ``JSON.NULL`` is JSON ``null``; ``null()``, and ``None`` in a column that keeps
    it as SQL NULL, are SQL NULL. (SQLAlchemy's own processor for this is private API.)"""
    dumps = dialect._json_serializer or json.dumps
    none_as_null = column_type.none_as_null

    def text(value: Any) -> Any:
        if value is JSON.NULL:
            value = None
        elif isinstance(value, Null) or (value is None and none_as_null):
            return None
        return dumps(value)

    return text


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
    names, columns = _processed_columns(dialect, table, rows, as_text=True)
    document = json.dumps([dict(zip(names, values)) for values in zip(*columns)])
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


def raw_columns(*columns: Any) -> list[Any]:
    """``columns`` without result type processing: values come back as the driver returns
    them (text amounts and dates on SQLite), to be converted with :func:`exact_decimal` and
    :func:`as_date` — several times faster than per-value processing over millions of rows."""
    return [type_coerce(column, NullType()).label(getattr(column, "key", None) or f"c{i}")
            for i, column in enumerate(columns)]


def exact_decimal(value: Any) -> Decimal | None:
    """An amount from the driver (Decimal on PostgreSQL, canonical text on SQLite)."""
    if value is None or value.__class__ is Decimal:
        return value
    return Decimal(value) if not isinstance(value, float) else to_decimal(value)
