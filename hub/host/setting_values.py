"""The value types of ``hub.toml``'s numbers: whole numbers and other numbers that take what
they say, and day counts with their bounds, each refusal saying what to write instead.

TOML's ``true`` is a yes/no: pydantic's lax ``int`` would read it as 1 (partner id 1, one day,
port 1) and its lax ``float`` as 1.0 second, so both are refused, as ``2.5`` is for a count.
Text of digits stays accepted: an environment variable (``HUB_WEB__PORT=8080``) is text. These
are the settings' side of :func:`refuse_non_whole`, which :data:`hub.validation.fields.Integer`
uses too (it lives here because importing hub.validation would load SQLAlchemy before the
settings are even read).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

__all__ = ["MAX_DUE_DAYS", "MAX_REMINDER_DAYS", "WholeNumber", "Number", "DueDays",
           "ReminderDays", "refuse_non_whole"]

#: The longest payment term in days: a year, as for an organisation's own term
#: (``hub.validation.fields.MAX_DUE_DAYS``).
MAX_DUE_DAYS = 365
#: The latest reminder, in days after the document date: ten years, as in a customer's own
#: billing config (``hub.validation.accounts.Days``).
MAX_REMINDER_DAYS = 3650


def _no_yes_no(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"{str(value).lower()} is a yes/no, not a number; write a number "
                         "such as 30")
    return value


def refuse_non_whole(value: Any, *, unit: str = "", verb: str = "write",
                     example: int = 30) -> Any:
    """``value`` unless it is a yes/no or a number with a fraction, which pydantic's lax ``int``
    would take as 1 or cut: refused, saying to ``verb`` a whole number such as ``example``
    (``unit``: " of days"). 2.0 stays 2, as pydantic has it."""
    if isinstance(value, bool):
        raise ValueError(f"{str(value).lower()} is a yes/no, not a number{unit}; {verb} a "
                         f"whole number such as {example}")
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(f"{value!r} is not a whole number{unit}; {verb} one such as {example}")
    return value


def _whole(of: str = "") -> BeforeValidator:
    """A check, before pydantic's own, that a value is a whole number (``of``: "of days")."""
    unit = f" {of}" if of else ""
    return BeforeValidator(lambda value: refuse_non_whole(value, unit=unit))


def _days_up_to(high: int, what: str) -> AfterValidator:
    """A check that a day count is within 0..``high``, saying what the days are for."""
    def check(value: int) -> int:
        if not 0 <= value <= high:
            raise ValueError(f"{value} is outside 0–{high} days; {what}")
        return value
    return AfterValidator(check)


#: A whole number (its bounds are the field's own ``ge``/``le``).
WholeNumber = Annotated[int, _whole()]
#: A number where fractions are fine (0.5 seconds, a scale of 2.5); a yes/no is not.
Number = Annotated[float, BeforeValidator(_no_yes_no)]
#: Days from the document date to the due date.
DueDays = Annotated[int, _whole("of days"), _days_up_to(
    MAX_DUE_DAYS, "give the days from the document date to the due date, e.g. 30")]
#: Days after the document date a reminder is sent.
ReminderDays = Annotated[int, _whole("of days"), _days_up_to(
    MAX_REMINDER_DAYS, "give days after the document date, e.g. [7, 14, 30]")]
