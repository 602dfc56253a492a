"""Small helpers the CLI command modules share: dates, amounts, ``KEY=VALUE`` options, files
written, JSON output.

Refusals are :mod:`hub.errors` exceptions; the CLI boundary prints them as one line.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Optional

from hub.cli.state import console, context
from hub.errors import ValidationFailed

__all__ = ["parse_date", "parse_optional_date", "parse_pairs", "parse_amount", "parse_issue_date",
           "file_target", "folder_target", "write_file", "print_json", "ledger_session",
           "invoice_id_of", "INVOICE_REF", "CREDIT_NOTE_REF"]

#: The help of every argument or option that names an invoice (:func:`invoice_id_of`).
INVOICE_REF = ("invoice number or id; id:N always means id N (needed when a number is also "
               "another invoice's id)")
#: The same for credit notes.
CREDIT_NOTE_REF = "credit note number or id; id:N always means id N"


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


def parse_amount(value: str, what: str) -> Decimal:
    """``value`` as an exact amount by the API's rule (:func:`hub.validation.fields.
    parse_decimal`): junk, ``1e400`` or twenty digits are refused before anything is stored."""
    from hub.validation.fields import parse_decimal

    try:
        return parse_decimal(value)
    except ValueError as exc:
        raise ValidationFailed(f"{what}: {exc}") from None  # the message says what to write


#: The longest payment term (``hub.validation.fields.DueDays``): an issue date needs this
#: much room before ``date.max`` for its due date.
_LONGEST_TERM = dt.timedelta(days=365)


def parse_issue_date(value: Optional[str]) -> Optional[dt.date]:
    """An invoice's issue date (``None`` when not given) that leaves room for its due date;
    9999-12-31 plus its term is no date at all."""
    day = parse_optional_date(value)
    if day is not None and day > dt.date.max - _LONGEST_TERM:
        raise ValidationFailed(f"issue date {day} leaves no room for its due date (up to "
                               f"{_LONGEST_TERM.days} days later; dates end at {dt.date.max})",
                               hint="give an earlier --date")
    return day


def file_target(path: Path, option: str) -> Path:
    """``path`` if a file may be written there: its folder exists and it is no folder itself.
    Checked before the work (a PDF rendered, sandboxes started) so a typo costs nothing."""
    if path.is_dir():
        raise ValidationFailed(f"{option} {path} is a folder", hint=f"give a file name, e.g. "
                               f"{option} {path / 'out'}")
    if not path.parent.is_dir():
        raise ValidationFailed(f"{option} {path}: folder {path.parent} does not exist",
                               hint="create it first, or give a path in an existing folder")
    return path


def folder_target(path: Path, option: str) -> Path:
    """``path`` as a folder that exists (made if needed) and can be written, or a refusal."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ValidationFailed(f"{option} {path} is a file, not a folder",
                               hint="give a folder, or a path that does not exist yet") from None
    except OSError as exc:
        raise ValidationFailed(f"{option} {path}: cannot make that folder ({exc.strerror})",
                               hint="give a folder you can write to") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ValidationFailed(f"{option} {path}: the folder is not writable",
                               hint="give a folder you can write to")
    return path


def write_file(path: Path, data: bytes | str, option: str) -> None:
    """Write ``data`` to ``path``; an OS refusal (a full disk, /proc, no permission) is one line."""
    try:
        if isinstance(data, str):
            path.write_text(data, encoding="utf-8")
        else:
            path.write_bytes(data)
    except OSError as exc:
        raise ValidationFailed(f"{option} {path}: cannot write it ({exc.strerror or exc})",
                               hint="give a path you can write to") from None


def print_json(data) -> None:
    """Print ``data`` as JSON (Decimals and dates as strings)."""
    console.print_json(json.dumps(data, default=str))


def parse_pairs(pairs: list[str], what: str) -> dict[str, str]:
    """``["A=1", "B=2"]`` -> ``{"A": "1", "B": "2"}``; a key given twice is refused (the
    second would silently replace the first)."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValidationFailed(f"{what} {pair!r} is not KEY=VALUE")
        if key in out:
            raise ValidationFailed(f"{what} names {key!r} twice",
                                   hint="give each once, with the whole amount")
        out[key] = value
    return out


def invoice_amounts(session, pairs: list[str], what: str) -> dict[int, str]:
    """``INVOICE=AMOUNT`` pairs by invoice id (see :func:`invoice_id_of`); an invoice named
    twice, however it is written (its number and ``id:N``), is refused rather than one amount
    silently replacing the other."""
    out: dict[int, str] = {}
    for ref, amount in parse_pairs(pairs, what).items():
        invoice_id = invoice_id_of(session, ref)
        if invoice_id in out:
            raise ValidationFailed(f"{what} names invoice id {invoice_id} twice (as {ref!r} "
                                   f"too)", hint="give each invoice once, with the whole amount")
        out[invoice_id] = amount
    return out


def ledger_session():
    """A session for ledger commands (commits on success; see :func:`hub.ledger.ledger_session`)."""
    from hub.ledger import ledger_session as session_of

    return session_of(context())


def invoice_id_of(session, ref: str) -> int:
    """The id of the invoice named by number or id ``ref`` (``id:N`` is always the id); refused
    when there is none, or when ``ref`` is one invoice's number and another's id."""
    from hub.ledger import find_invoice

    return find_invoice(session, ref).id
