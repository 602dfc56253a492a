"""Small helpers the CLI command modules share: dates, ``KEY=VALUE`` options, JSON output.

Refusals are :mod:`hub.errors` exceptions; the CLI boundary prints them as one line.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Optional

from hub.cli.state import console, context
from hub.errors import ValidationFailed

__all__ = ["parse_date", "parse_optional_date", "parse_pairs", "print_json", "ledger_session",
           "invoice_id_of"]


def parse_optional_date(value: Optional[str]) -> Optional[dt.date]:
    """``YYYY-MM-DD``, or ``None`` when not given."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(f"{value!r} is not a date", hint="write YYYY-MM-DD") from None


def parse_date(value: Optional[str]) -> dt.date:
    """``YYYY-MM-DD``, or today by the hub's clock when ``None``."""
    if value is None:
        return context().today()
    return parse_optional_date(value)


def print_json(data) -> None:
    """Print ``data`` as JSON (Decimals and dates as strings)."""
    console.print_json(json.dumps(data, default=str))


def parse_pairs(pairs: list[str], what: str) -> dict[str, str]:
    """``["A=1", "B=2"]`` -> ``{"A": "1", "B": "2"}``."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValidationFailed(f"{what} {pair!r} is not KEY=VALUE")
        out[key] = value
    return out


def ledger_session():
    """A session for ledger commands (commits on success; see :func:`hub.ledger.ledger_session`)."""
    from hub.ledger import ledger_session as session_of

    return session_of(context())


def invoice_id_of(session, ref: str) -> int:
    """The id of the invoice named by id or number ``ref`` (refused when there is none)."""
    from hub.ledger import find_invoice

    return find_invoice(session, ref).id
