"""The rules for a customer's billing config (``hub account config``, seed 002): what the
account calendar and the reminders read every day, so a value that would break them (a
holiday "2026-02-30", a country the holiday registry does not know, a reminder day "a") is
refused when it is set, not met by tomorrow's run."""

from __future__ import annotations

from typing import Annotated, Optional

from pydantic import AfterValidator, Field

from hub.errors import ValidationFailed
from hub.validation.fields import Amount, Day, Integer
from hub.validation.records import Changes

__all__ = ["AccountConfigChanges", "check_country", "check_subdivision"]

#: Days counted forward from a due date (blocking, deactivation, reminders): ten years at most.
Days = Annotated[Integer, Field(ge=0, le=3650)]


def _country(value: str) -> str:
    """A country the holiday registry knows (``holidays``), as its ISO code."""
    import holidays  # the registry is imported only when a country is set (it is large)

    code = value.strip().upper()
    if code not in holidays.list_supported_countries():
        raise ValueError(f"{value!r} is not a country the holiday calendar knows; use an "
                         "ISO 3166 code such as 'GB', 'US' or 'DE'")
    return code


def check_country(value: str) -> str:
    """:func:`_country` for the services: the registry's code, or :class:`ValidationFailed`
    (a country stored before it was checked at entry is read through it)."""
    try:
        return _country(value)
    except ValueError:
        raise ValidationFailed(f"holiday_country {value!r} is not a country the holiday "
                               "calendar knows",
                               hint="use an ISO 3166 code such as 'GB', 'US' or 'DE'") from None


def check_subdivision(country: str, subdivision: str) -> str:
    """``subdivision`` as the holiday registry spells it, if ``country`` (a code
    :func:`_country` took) has it: a code such as ``CA`` for the US, or one of the library's
    names for one (``California``), either in any case. Otherwise :class:`ValidationFailed`
    naming some subdivisions the country has (the registry refuses any other, and the
    account calendar could not be worked out)."""
    import holidays

    entity = holidays.country_holidays(check_country(country))  # no years: none computed
    codes = tuple(entity.subdivisions)
    # A name ("California") stands for its code; stored as the code, the form listed.
    names = dict(getattr(entity, "subdivisions_aliases", None) or {})
    wanted = subdivision.strip().casefold()
    for code in codes:
        if code.casefold() == wanted:
            return code
    for name, code in names.items():
        if name.casefold() == wanted:
            return code
    if not codes:
        raise ValidationFailed(
            f"the holiday calendar of {country} has no subdivisions, so holiday_subdivision "
            f"{subdivision!r} is not one",
            hint="clear holiday_subdivision (the country's own holidays apply)")
    shown = ", ".join(codes[:_SHOWN]) + (f" … ({len(codes)} in all)" if len(codes) > _SHOWN
                                          else "")
    raise ValidationFailed(
        f"holiday_subdivision {subdivision!r} is not a subdivision of {country} the holiday "
        "calendar knows",
        hint=f"use one of {shown}, or clear holiday_subdivision")


#: How many of a country's subdivisions a refusal names (the US has 57).
_SHOWN = 12


#: A holiday, written YYYY-MM-DD ("2026-12-25"); a number is refused, not read as Unix time.
Holiday = Day


class AccountConfigChanges(Changes):
    """Changes to a customer's billing config; settings left out keep their value."""

    NULLABLE = frozenset({"holiday_country", "holiday_subdivision", "next_block_date"})
    blocking_days: Optional[Days] = None
    deactivation_days: Optional[Days] = None
    minimum_balance: Optional[Amount] = None
    block_on_weekends: Optional[bool] = None
    block_on_holidays: Optional[bool] = None
    holiday_country: Optional[Annotated[str, AfterValidator(_country)]] = None
    # The registry's longest subdivision is 17 characters ("São Paulo Capital"); its names
    # for them ("Terres australes françaises") are longer still.
    holiday_subdivision: Optional[Annotated[str, Field(min_length=1, max_length=40)]] = None
    holidays: Optional[Annotated[list[Holiday], Field(max_length=366)]] = None
    reminder_days: Optional[Annotated[list[Days], Field(max_length=50)]] = None
    next_block_date: Optional[Day] = None
