"""Document numbers from a format such as Splynx's default ``{year}{partner_id|2}{next|6}``.

Tokens: ``{year}`` (2026), ``{year2}`` (26), ``{month}``, ``{day}``, ``{partner_id}`` and
``{next}`` (the counter). ``|N`` pads with zeros to N digits. The counter belongs to the
format's *sequence key* — the number with ``{next}`` left out — so a format with ``{year}``
restarts every year and each partner counts on its own.
"""

from __future__ import annotations

import datetime as dt
import re

from hub.errors import ConfigError

__all__ = ["render_number", "render_numbers", "sequence_key", "TOKENS"]

TOKENS = ("year", "year2", "month", "day", "partner_id", "next")
_TOKEN = re.compile(r"\{(\w+)(?:\|(\d+))?\}")


def _check(fmt: str) -> None:
    unknown = [m.group(1) for m in _TOKEN.finditer(fmt) if m.group(1) not in TOKENS]
    if unknown:
        raise ConfigError(f"number format {fmt!r} has unknown token(s) {unknown}",
                          hint="use " + ", ".join("{" + t + "}" for t in TOKENS))
    if "{next" not in fmt:
        raise ConfigError(f"number format {fmt!r} has no {{next}} counter",
                          hint="add {next|6} so every number is different")


def _render(fmt: str, values: dict[str, int]) -> str:
    def sub(match: re.Match) -> str:
        name, width = match.group(1), match.group(2)
        if name not in values:
            return match.group(0)
        text = str(values[name])
        return text.zfill(int(width)) if width else text

    return _TOKEN.sub(sub, fmt)


def _values(issue_date: dt.date, partner_id: int) -> dict[str, int]:
    return {"year": issue_date.year, "year2": issue_date.year % 100, "month": issue_date.month,
            "day": issue_date.day, "partner_id": partner_id}


def sequence_key(fmt: str, *, issue_date: dt.date, partner_id: int) -> str:
    """Which counter a number of this format and date draws from."""
    _check(fmt)
    return _render(fmt, _values(issue_date, partner_id))


def render_number(fmt: str, *, next_value: int, issue_date: dt.date, partner_id: int) -> str:
    """The number itself, e.g. ``202601000042``."""
    _check(fmt)
    return _render(fmt, {**_values(issue_date, partner_id), "next": next_value})


def render_numbers(fmt: str, *, first: int, count: int, issue_date: dt.date,
                   partner_id: int) -> list[str]:
    """``count`` consecutive numbers from ``first``: what :func:`render_number` gives for each,
    with the format worked out once (a billing confirm numbers thousands of invoices): the
    sequence key is the number with only ``{next}`` left to fill."""
    key = sequence_key(fmt, issue_date=issue_date, partner_id=partner_id)
    parts = _TOKEN.split(key)  # text, name, width, text, ...: only {next} tokens are left
    texts, slots = parts[0::3], list(zip(parts[1::3], parts[2::3]))
    result = []
    for value in range(first, first + count):
        out = [texts[0]]
        for (name, width), text in zip(slots, texts[1:]):
            number = str(value)
            out.append((number.zfill(int(width)) if width else number) + text)
        result.append("".join(out))
    return result
