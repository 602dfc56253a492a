"""What every list command shares: ``--limit/--offset`` paging and ``--format table|json|csv``.

A list command builds its query, pages it with :func:`page` and prints rows with :func:`emit`;
JSON and CSV carry every column as plain text (Decimals exact, dates ISO), so scripts never
parse a table. Filters with fixed choices are Enums, so Typer refuses unknown values (exit 2).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal
from enum import Enum
from typing import Any, Sequence

import typer


from hub.cli.state import Table, console

__all__ = ["OutputFormat", "LIMIT", "OFFSET", "FORMAT", "page", "emit", "plain", "shown_amount",
           "shown_money"]


class OutputFormat(str, Enum):
    """How a list is printed."""

    table = "table"
    json = "json"
    csv = "csv"


LIMIT = typer.Option(50, "--limit", min=1, max=10000, help="rows to show (1–10000)")
OFFSET = typer.Option(0, "--offset", min=0, max=2**31 - 1, help="rows to skip first")
FORMAT = typer.Option(OutputFormat.table, "--format", case_sensitive=False,
                      help="table, json or csv")


def page(query: Any, limit: int, offset: int) -> Any:
    """``query`` limited to one page."""
    return query.limit(limit).offset(offset)


def plain(value: Any) -> Any:
    """A value as JSON/CSV text: exact decimals, ISO dates, enums by value."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (list, dict)):
        return json.dumps(value, default=str) if value else ""
    return value


#: Columns that hold an amount of the row's ``currency``: shown in that currency's minor unit.
MONEY_COLUMNS = frozenset({"total", "subtotal", "tax_total", "amount", "amount_due",
                           "amount_paid", "balance", "credit_applied"})


def _minor(amount: Decimal, currency: str) -> Decimal:
    """``amount`` in ``currency``'s minor unit (``946.0000`` USD is ``946.00``); a value finer
    than the currency (never stored, but possible in old rows) stays exact rather than
    rounded."""
    from hub.core.money import is_whole_minor_units, quantum

    if amount.is_finite() and is_whole_minor_units(amount, currency):
        return amount.quantize(quantum(currency))
    return amount


def shown_amount(value: Decimal | str, currency: str) -> str:
    """An amount as text in its currency's minor unit (see :func:`_minor`)."""
    return format(_minor(Decimal(value), currency), "f")


def shown_money(value: Decimal | str, currency: str) -> str:
    """An amount with its currency, as the ledger commands report what they did:
    ``12.50 USD``, ``1,250.00 USD`` (never the stored ``1250.0000``), grouped as the tables
    show it (:func:`hub.core.money.shown_figure`)."""
    from hub.core.money import shown_figure

    return f"{shown_figure(Decimal(value), currency)} {currency}"


def _in_minor_units(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with its money columns in the currency's minor unit."""
    currency = row.get("currency")
    if not isinstance(currency, str):
        return row
    return {key: _minor(value, currency) if key in MONEY_COLUMNS and isinstance(value, Decimal)
            else value for key, value in row.items()}


def emit(rows: Sequence[dict[str, Any]], columns: Sequence[str], fmt: OutputFormat,
         *, title: str | None = None) -> None:
    """Print ``rows`` (dicts with ``columns`` keys) as a table, JSON or CSV."""
    rows = [_in_minor_units(row) for row in rows]
    if fmt is OutputFormat.json:
        console.print_json(json.dumps([{c: _json_value(r.get(c)) for c in columns}
                                       for r in rows]))
        return
    if fmt is OutputFormat.csv:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if row.get(c) is None else plain(row.get(c)) for c in columns])
        # Plain print: Rich would wrap or colour the CSV.
        typer.echo(out.getvalue(), nl=False)
        return
    table = Table(*[c.replace("_", " ").capitalize() for c in columns], title=title,
                  title_justify="left")
    for row in rows:
        table.add_row(*["—" if row.get(c) is None else str(plain(row.get(c))) for c in columns])
    console.print(table)


def _json_value(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        return json.loads(json.dumps(value, default=str))
    return plain(value)
