"""What changed on a line since the last invoice of the same schedule, and why.

Each line keeps its *provenance*: the assets, contacts, licences or time entries that made its
quantity, as ``{"ref": ..., "label": ..., "quantity": ...}`` items. Comparing the items with the
previous invoice's line for the same template line gives the cause of a change in words:

- items that appeared or went: ``+3 devices: A, B, C`` or ``-1 user: Dana``; an item carrying
  more than one unit says by how much, so a subscription going from 15 seats to none reads
  ``-15 licences: M365 Business (15 → 0)``, never ``-1 licence``;
- a quantity change without items: ``quantity 5 → 7 (+2)``;
- a price change: ``unit price 10 → 12``;
- pro-rata starting or ending: ``pro-rata ended: 17.00 → 31.00``;
- any other difference in the amount: ``amount 17.00 → 31.00``;
- a line with no counterpart: ``new line``; a line of the previous invoice that is no longer
  billed is listed by :func:`describe_ended`.

These texts are internal change notes for the person checking a batch; the customer's PDF
prints only the line's description and its pro-rata explanation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Mapping, Sequence

from hub.core.money import Money

__all__ = ["LineSnapshot", "describe_change", "describe_ended", "NOUNS"]

#: What a counter line counts, singular and plural.
NOUNS: dict[str, tuple[str, str]] = {
    "asset_counter": ("device", "devices"),
    "user_counter": ("user", "users"),
    "vendor_usage": ("licence", "licences"),
    "ticket_charge": ("time entry", "time entries"),
}


@dataclass(frozen=True)
class LineSnapshot:
    """The parts of a line that a change is judged on. ``amount`` and ``prorata`` (the pro-rata
    explanation, ``None`` for a full period) are compared when both sides have them."""

    line_type: str
    quantity: Decimal
    unit_price: Decimal
    provenance: Sequence[Mapping[str, Any]] = field(default_factory=tuple)
    amount: Decimal | None = None
    prorata: str | None = None
    description: str = ""


def _number(value: Decimal) -> str:
    return f"{value.normalize():f}" if value == value.to_integral_value() else f"{value:f}"


def _quantities(items: Sequence[Mapping[str, Any]]) -> dict[str, tuple[Decimal, str]]:
    """``ref -> (quantity, label)``; an item without a quantity counts one."""
    result: dict[str, tuple[Decimal, str]] = {}
    for item in items:
        ref = str(item["ref"])
        quantity = Decimal(str(item.get("quantity") or "1"))
        before = result.get(ref, (Decimal(0), ""))[0]
        result[ref] = (before + quantity, str(item.get("label") or ref))
    return result


def _noun(n: Decimal, line_type: str) -> str:
    one, many = NOUNS.get(line_type, ("item", "items"))
    return f"{_number(n)} {one if n == 1 else many}"


def _item_changes(previous: LineSnapshot, current: LineSnapshot) -> list[str]:
    before, after = _quantities(previous.provenance), _quantities(current.provenance)
    ups: list[tuple[str, str]] = []
    downs: list[tuple[str, str]] = []
    up_total = down_total = Decimal(0)
    for ref in sorted(set(before) | set(after)):
        old, old_label = before.get(ref, (Decimal(0), ""))
        new, new_label = after.get(ref, (Decimal(0), ""))
        if old == new:
            continue
        label = new_label or old_label
        # A unit item simply appearing or going is named; anything else says by how much.
        plain = {old, new} <= {Decimal(0), Decimal(1)}
        text = label if plain else f"{label} ({_number(old)} → {_number(new)})"
        if new > old:
            up_total += new - old
            ups.append((label, text))
        else:
            down_total += old - new
            downs.append((label, text))
    parts = []
    if ups:
        parts.append(f"+{_noun(up_total, current.line_type)}: "
                     + ", ".join(text for _, text in sorted(ups)))
    if downs:
        parts.append(f"-{_noun(down_total, current.line_type)}: "
                     + ", ".join(text for _, text in sorted(downs)))
    return parts


def describe_change(previous: LineSnapshot | None, current: LineSnapshot) -> str | None:
    """The change from ``previous`` (``None``: the line is new) to ``current``, or ``None`` when
    nothing changed (same quantity, items, price and amount)."""
    if previous is None:
        return "new line"
    parts: list[str] = []
    if previous.provenance or current.provenance:
        parts += _item_changes(previous, current)
    if not parts and current.quantity != previous.quantity:
        delta = current.quantity - previous.quantity
        parts.append(f"quantity {_number(previous.quantity)} → {_number(current.quantity)} "
                     f"({'+' if delta > 0 else ''}{_number(delta)})")
    if current.unit_price != previous.unit_price:
        parts.append(f"unit price {_number(previous.unit_price)} → "
                     f"{_number(current.unit_price)}")
    if previous.amount is not None and current.amount is not None:
        # the stored amount may carry the column's scale (17.0000): shown like the new one
        amounts = f"{previous.amount.quantize(current.amount):f} → {current.amount:f}"
        if (previous.prorata is None) != (current.prorata is None):
            word = "pro-rata ended" if current.prorata is None else "pro-rata"
            parts.append(f"{word}: {amounts}" if previous.amount != current.amount else word)
        elif previous.amount != current.amount and not parts:
            parts.append(f"amount {amounts}")
    return "; ".join(parts) or None


def describe_ended(previous: LineSnapshot, currency: str) -> str:
    """The note for a line of the previous invoice that the new one no longer has."""
    what = previous.description or previous.line_type
    amount = f" = {Money(previous.amount, currency).rounded().amount:f}" \
        if previous.amount is not None else ""
    return (f"line ended: {what} (was {_number(previous.quantity)} × "
            f"{_number(previous.unit_price)}{amount})")
