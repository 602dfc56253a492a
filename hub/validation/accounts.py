"""The rules for a customer's billing config (``hub account config``, seed 002): what the
account calendar and the reminders read every day, so a value that would break them (a
holiday "2026-02-30", a country the holiday registry does not know, a reminder day "a") is
refused when it is set, not met by tomorrow's run."""

from __future__ import annotations

from typing import Annotated, Optional

from pydantic import AfterValidator, Field

from hub.validation.fields import Amount, Day, Integer
from hub.validation.records import Changes

__all__ = ["AccountConfigChanges"]

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
    holiday_subdivision: Optional[Annotated[str, Field(min_length=1, max_length=10)]] = None
    holidays: Optional[Annotated[list[Holiday], Field(max_length=366)]] = None
    reminder_days: Optional[Annotated[list[Days], Field(max_length=50)]] = None
    next_block_date: Optional[Day] = None
