"""The value types every input model is built from: ids, currency codes, amounts, quantities,
tax rates, billing days, dates, names, document numbers, e-mail addresses, counter filters, and
the check that a line's amount (quantity × unit price, plus tax) fits the money columns.

Each type refuses what the database or the billing run could not use, with a message that
says what to write instead: ids beyond PostgreSQL's ``integer``, ``true`` or ``2.5`` for an id
or a count, currency codes Babel does not know, floats (binary rounding), booleans,
``NaN``/``Infinity``, more than 15 integer digits or 4 decimals (the ``NUMERIC(19, 4)``
columns), tax rates outside 0–100, misspelt counter filters. In the OpenAPI schema amounts are
strings with a pattern, so clients send exact decimals.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, Mapping

from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer, WithJsonSchema

from hub.core.lines import LineKind
from hub.core.money import (
    STORAGE_PLACES, as_typed, decimal_places, not_money, quantum, to_decimal,
)
from hub.db.types import MAX_INTEGER_DIGITS
from hub.errors import ValidationFailed
from hub.host.setting_values import refuse_non_whole
from hub.validation.limits import MAX_ID

__all__ = ["MAX_ID", "MAX_DUE_DAYS", "Integer", "Id", "CurrencyCode", "Amount", "Quantity",
           "TaxRate", "BillingDay", "DueDays", "Name", "Email", "Day", "DocumentNumber",
           "Reference", "Reason", "Note", "REFERENCE_LENGTH", "REASON_LENGTH", "NOTE_LENGTH",
           "NAME_LENGTH", "check_length", "check_name", "MAX_DAYS_AHEAD", "check_not_far_ahead",
           "EARLIEST_DAY",
           "check_not_far_back", "check_currency", "check_money_currency", "check_email",
           "parse_decimal",
           "check_filters", "AMOUNT_LIMIT", "largest_amount", "check_line_amount",
           "check_total_amount",
           "LINE_TYPES", "DECIMAL_PATTERN"]

#: The longest payment term, in days: a year (the company default and each organisation's).
MAX_DUE_DAYS = 365

#: A plain decimal as text: optional sign, at most 15 integer digits and 4 decimals.
DECIMAL_PATTERN = r"^-?\d{1,15}(\.\d{1,4})?$"

#: Recurring and contract line types (seed 000).
LINE_TYPES = ("standard", "asset_counter", "user_counter", "vendor_usage")

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

#: The first amount no money column holds: 16 integer digits (``NUMERIC(19, 4)``).
AMOUNT_LIMIT = Decimal(10) ** MAX_INTEGER_DIGITS


def check_currency(code: str) -> str:
    """``code`` if it is an ISO 4217 code Babel knows (``USD``), else ``ValueError``."""
    if code.__class__ is str and code in _KNOWN_CURRENCIES:  # a billing run asks per invoice
        return code
    from babel.numbers import is_currency  # Babel's list, not ours: it tracks ISO 4217

    if not isinstance(code, str) or not re.fullmatch(r"[A-Z]{3}", code) or not is_currency(code):
        raise ValueError(f"{code!r} is not an ISO 4217 currency code; write three capitals "
                         f"such as 'USD', 'EUR' or 'GBP'")
    if code.__class__ is str:
        _KNOWN_CURRENCIES.add(code)  # bounded: ISO 4217 has fewer than 200 codes
    return code


#: Codes check_currency has accepted (plain str only: a subclass may compare otherwise).
_KNOWN_CURRENCIES: set[str] = set()


def check_money_currency(code: str) -> str:
    """``code`` if it is a currency an organisation or a price can be in: one
    :func:`check_currency` accepts that is money, not XXX ("no currency"), the test code XTS,
    a metal (XAU) or a unit such as XDR. Only new input is checked this way: a stored code
    stays readable and billable (:func:`check_currency`)."""
    code = check_currency(code)
    name = not_money(code)
    if name is not None:
        raise ValueError(f"{code!r} is the ISO 4217 code for {name}, not a currency to bill "
                         f"in; write a real currency code such as 'USD', 'EUR' or 'GBP'")
    return code


def parse_decimal(value: Any) -> Decimal:
    """An exact decimal from text or an integer. Refuses floats, booleans, ``NaN``,
    ``Infinity``, more than 15 integer digits and more than 4 decimals (what the columns
    keep), each with the fix."""
    if isinstance(value, bool):  # JSON true: a yes/no, which Decimal would read as 1
        raise ValueError(f"{str(value).lower()} is a yes/no, not an amount; send the amount "
                         f"as a string like '12.50'")
    if isinstance(value, float):
        raise ValueError(f"{value!r} is a binary float; send the amount as a string like "
                         f"'12.50'")
    try:
        number = to_decimal(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{as_typed(value)} is not a number; write it like '12.50'") from exc
    if decimal_places(number) > STORAGE_PLACES:
        raise ValueError(f"{as_typed(value)} has more than {STORAGE_PLACES} decimals; round it")
    if number and number.adjusted() >= MAX_INTEGER_DIGITS:
        raise ValueError(f"{as_typed(value)} has more than {MAX_INTEGER_DIGITS} integer digits")
    # Plain notation ("1E+2" becomes "100"): stored and shown as people write amounts.
    return Decimal(format(number, "f")) if number else Decimal(0)


def _whole_number(value: Any) -> Any:
    # Before pydantic's own int parsing, which reads True as 1: a bool is a yes/no, never an
    # id or a count; 2.5 is refused with what to send (the settings' rule, worded for requests).
    return refuse_non_whole(value, verb="send", example=1)


def _non_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError(f"{value} is negative; use 0 or more")
    return value


def _tax_rate(value: Decimal) -> Decimal:
    if not 0 <= value <= 100:
        raise ValueError(f"a tax rate of {value} % is outside 0–100; write e.g. '20' for 20 %")
    return value


def _name(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("is empty; give a name")
    return value


def _number(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("is empty; give a number such as 'INV-0042'")
    if value[:3].lower() == "id:":  # hub.ledger._base.ID_PREFIX: "id:N" names an id
        raise ValueError(f"{value!r} starts with 'id:', which names a document by its id; "
                         f"give a number such as 'INV-0042'")
    return value


def _iso_date(value: Any) -> dt.date:
    # pydantic's own date type takes 5 as a Unix time (1970-01-01): a date is written, not
    # counted, so only a date or YYYY-MM-DD text is one.
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a date; write it as YYYY-MM-DD, e.g. '2026-03-01'")


def check_email(value: str, *, display_name: bool = False) -> str:
    """``value`` as an e-mail address (its domain normalised), or ``ValueError`` saying what is
    wrong with it. The syntax rules are email-validator's (RFC 5321/5322 and internationalised
    addresses; no DNS look-up), which pydantic's ``EmailStr`` uses too: ``<x>@y.com``, a space,
    a name without a domain or one longer than a mailbox takes are refused. With
    ``display_name``, ``Ann <ann@example.com>`` is taken too (the address is returned)."""
    # imported here: it loads dnspython (about 50 ms), which only checking an address needs
    from email_validator import EmailNotValidError, validate_email

    value = value.strip()
    try:
        return validate_email(value, check_deliverability=False,
                              allow_display_name=display_name).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"{value[:80]!r} is not an e-mail address ({exc}); write e.g. "
                         "billing@example.com") from None


_DECIMAL_SCHEMA = WithJsonSchema({"type": "string", "pattern": DECIMAL_PATTERN,
                                  "examples": ["12.50"]})

#: Money or a unit price: exact, at most 4 decimals (unit prices like 0.0125 stay exact; the
#: currency's own minor unit is checked where the currency is known).
Amount = Annotated[Decimal, BeforeValidator(parse_decimal), PlainSerializer(str, when_used="json"),
                   _DECIMAL_SCHEMA]
#: A quantity (hours, devices, licences): exact, 0 or more.
Quantity = Annotated[Decimal, BeforeValidator(parse_decimal), AfterValidator(_non_negative),
                     PlainSerializer(str, when_used="json"), _DECIMAL_SCHEMA]
#: A tax rate in percent, 0–100.
TaxRate = Annotated[Decimal, BeforeValidator(parse_decimal), AfterValidator(_tax_rate),
                    PlainSerializer(str, when_used="json"), _DECIMAL_SCHEMA]
#: A whole number: an int, or text of one (the CLI hands its values over as text). ``true``
#: is not the number 1 and ``2.5`` not a count, although pydantic's lax mode would take both.
Integer = Annotated[int, BeforeValidator(_whole_number)]
#: A row id (1 to PostgreSQL's largest integer).
Id = Annotated[Integer, Field(ge=1, le=MAX_ID)]
#: An ISO 4217 currency code Babel knows that is money (not XXX, XTS, a metal or XDR).
CurrencyCode = Annotated[str, AfterValidator(check_money_currency),
                         WithJsonSchema({"type": "string", "pattern": "^[A-Z]{3}$",
                                         "examples": ["USD"]})]
#: The day of the month invoices are made (1–28, so every month has it).
BillingDay = Annotated[Integer, Field(ge=1, le=28)]
#: Days until an invoice is due.
DueDays = Annotated[Integer, Field(ge=0, le=MAX_DUE_DAYS)]
#: The longest name or line description, in characters (:data:`Name`).
NAME_LENGTH = 200
#: A non-empty name or description.
Name = Annotated[str, Field(min_length=1, max_length=NAME_LENGTH), AfterValidator(_name)]
#: An e-mail address.
Email = Annotated[str, Field(max_length=254), AfterValidator(check_email)]
#: A calendar date written YYYY-MM-DD (or a ``date``); numbers are refused.
Day = Annotated[dt.date, BeforeValidator(_iso_date)]
#: A document number (an invoice's), non-empty.
DocumentNumber = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_number)]

#: The longest free texts, in characters: a payment's reference (a transfer's or cheque's; it
#: goes to accounting inside the payment's own reference and note), why a credit note or refund
#: was made, and a note kept in the hub (as an invoice's).
REFERENCE_LENGTH, REASON_LENGTH, NOTE_LENGTH = 255, 500, 5000
#: A payment's reference.
Reference = Annotated[str, Field(max_length=REFERENCE_LENGTH)]
#: Why a credit note or refund was made.
Reason = Annotated[str, Field(max_length=REASON_LENGTH)]
#: A note kept in the hub.
Note = Annotated[str, Field(max_length=NOTE_LENGTH)]


#: How far after today a document's or billing run's date may be: a year. A date further on
#: is a typo (2072 for 2027), and a payment or invoice dated then would sit in every statement
#: and reminder for decades; a preview for 9999-12-31 drafted every schedule's next invoice.
MAX_DAYS_AHEAD = 366


def check_not_far_ahead(day: dt.date, today: dt.date | None, what: str,
                        since: str = "today") -> dt.date:
    """``day`` unless it is more than :data:`MAX_DAYS_AHEAD` days after ``today`` (no check
    without a ``today``; ``since`` names that day in the refusal, e.g. "the invoice date");
    :class:`ValidationFailed` names the latest date taken."""
    if today is not None and (day - today).days > MAX_DAYS_AHEAD:
        latest = today + dt.timedelta(days=MAX_DAYS_AHEAD)
        raise ValidationFailed(f"the {what} {day} is more than a year after {since} ({today})",
                               hint=f"check the year: the latest {what} taken is {latest}")
    return day


#: The earliest date a document or payment may carry. An earlier one is a typo (0026 for 2026,
#: 1026 for 2026): it would sort before every real record of its organisation, age for a
#: thousand years in every reminder and statement, and no accounting system takes it.
EARLIEST_DAY = dt.date(2000, 1, 1)


def check_not_far_back(day: dt.date, today: dt.date | None, what: str) -> dt.date:
    """``day`` unless it is before :data:`EARLIEST_DAY`; :class:`ValidationFailed` names the
    earliest date taken. Like :func:`check_not_far_ahead`, for dates people type: no check
    without a ``today`` (a processor's or accounting system's record is booked as dated)."""
    if today is not None and day < EARLIEST_DAY:
        raise ValidationFailed(f"the {what} {day} is before {EARLIEST_DAY}",
                               hint=f"check the year: the earliest {what} taken is "
                                    f"{EARLIEST_DAY}")
    return day


def check_length(value: str, what: str, most: int) -> str:
    """``value`` if it is at most ``most`` characters, else :class:`ValidationFailed` (the
    services' side of :data:`Reference`, :data:`Reason` and :data:`Note`, for the CLI)."""
    if len(value) > most:
        raise ValidationFailed(f"the {what} is {len(value):,} characters long, more than the "
                               f"{most:,} it may have", hint=f"shorten the {what}")
    return value


def check_name(value: str, what: str) -> str:
    """``value`` without surrounding blanks if it is not blank and at most
    :data:`NAME_LENGTH` characters, else :class:`ValidationFailed` (the services' side of
    :data:`Name`, for values the API's models do not check, e.g. credit note lines)."""
    value = value.strip()
    if not value:
        raise ValidationFailed(f"the {what} is empty", hint=f"give the {what}")
    return check_length(value, what, NAME_LENGTH)


def largest_amount(currency: str | None = None) -> Decimal:
    """The largest amount of ``currency`` the money columns hold: 999999999999999.99 for USD
    (cents when the currency is not known yet)."""
    return AMOUNT_LIMIT - (quantum(currency) if currency else Decimal("0.01"))


def check_line_amount(quantity: Decimal, unit_price: Decimal, tax_rate: Decimal = Decimal(0),
                      currency: str | None = None) -> None:
    """``ValueError`` naming the fields if quantity × unit price, rounded to ``currency`` (to
    cents when not known yet) as :func:`hub.core.lines.price_line` does, plus its tax, is more
    than :func:`largest_amount`: each value fits its column, and the product would not."""
    places = quantum(currency) if currency else Decimal("0.01")
    raw = abs(quantity * unit_price)
    if raw < AMOUNT_LIMIT:  # else quantize could need more digits than the context keeps
        amount = raw.quantize(places, ROUND_HALF_UP)
        raw = amount + (amount * tax_rate / 100).quantize(places, ROUND_HALF_UP)
    else:
        raw = raw * (100 + tax_rate) / 100
    if raw >= AMOUNT_LIMIT:
        raise ValueError(
            f"quantity × unit_price{' with tax' if tax_rate else ''} comes to "
            f"{raw:.{max(-places.as_tuple().exponent, 0)}f}, more than the largest amount "
            f"allowed ({largest_amount(currency)}); lower the unit_price or quantity")


def check_total_amount(total: Decimal, currency: str | None = None) -> None:
    """``ValueError`` if an invoice total (or subtotal, or tax) of ``total`` is more than the
    money columns hold."""
    if abs(total) >= AMOUNT_LIMIT:
        raise ValueError(f"the invoice would total {total}, more than the largest amount "
                         f"allowed ({largest_amount(currency)}); lower the prices or "
                         f"quantities of its lines, or split it into two invoices")


def check_filters(line_type: str, filters: Mapping[str, Any]) -> dict[str, Any]:
    """``filters`` if the counter of ``line_type`` understands every key
    (:data:`hub.sources.count_filters.FILTER_COLUMNS` or ``attributes.<name>``); a standard
    line takes none."""
    from hub.sources.count_filters import FILTER_COLUMNS

    filters = dict(filters or {})
    kind = LineKind.COUNTERS.get(line_type)
    if kind is None:
        if filters:
            raise ValueError(f"a {line_type} line counts nothing, so it takes no filters; "
                             f"leave --filters out")
        return filters
    allowed = FILTER_COLUMNS[kind]
    for key, value in filters.items():
        if kind == "usage" and key.startswith("attributes."):
            # a usage snapshot has no attributes (the stored counter refuses them too)
            raise ValueError(f"{key!r}: usage counters take no attributes.* filters; filter "
                             f"usage on {' or '.join(allowed)}")
        if not (key in allowed or (key.startswith("attributes.") and len(key) > 11)):
            others = "" if kind == "usage" else " or attributes.<name>"
            raise ValueError(f"{key!r} is not a filter the {kind} counter understands; use one "
                             f"of {', '.join(allowed)}{others}")
        if isinstance(value, (dict,)) or (isinstance(value, list) and any(
                isinstance(v, (dict, list)) for v in value)):
            raise ValueError(f"filter {key!r} must be a value or a list of values")
    return filters
