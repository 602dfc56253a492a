"""What changed on a line since the last invoice of the same schedule, and why.

Each line keeps its *provenance*: the assets, contacts, licences or time entries that made its
quantity, as ``{"ref": ..., "label": ...}`` items. Comparing the sets of refs with the previous
invoice's line for the same template line gives the cause of a change in words, e.g.
``+3 devices: A, B, C`` or ``-1 user: Dana``; a price change is said too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Mapping, Sequence

__all__ = ["LineSnapshot", "describe_change", "NOUNS"]

#: What a counter line counts, singular and plural.
NOUNS: dict[str, tuple[str, str]] = {
    "asset_counter": ("device", "devices"),
    "user_counter": ("user", "users"),
    "vendor_usage": ("licence", "licences"),
    "ticket_charge": ("time entry", "time entries"),
}


@dataclass(frozen=True)
class LineSnapshot:
    """The parts of a line that a change is judged on."""

    line_type: str
    quantity: Decimal
    unit_price: Decimal
    provenance: Sequence[Mapping[str, Any]] = field(default_factory=tuple)


def _labels(items: Sequence[Mapping[str, Any]], refs: set[str]) -> list[str]:
    return sorted(str(i.get("label") or i["ref"]) for i in items if i["ref"] in refs)


def _count(n: int, line_type: str) -> str:
    one, many = NOUNS.get(line_type, ("item", "items"))
    return f"{n} {one if n == 1 else many}"


def describe_change(previous: LineSnapshot | None, current: LineSnapshot) -> str | None:
    """The change from ``previous`` (``None``: the line is new) to ``current``, or ``None`` when
    nothing changed."""
    if previous is None:
        return "new line"
    parts: list[str] = []
    before = {i["ref"] for i in previous.provenance}
    after = {i["ref"] for i in current.provenance}
    if before or after:
        added, removed = after - before, before - after
        if added:
            parts.append(f"+{_count(len(added), current.line_type)}: "
                         + ", ".join(_labels(current.provenance, added)))
        if removed:
            parts.append(f"-{_count(len(removed), current.line_type)}: "
                         + ", ".join(_labels(previous.provenance, removed)))
    if not parts and current.quantity != previous.quantity:
        delta = current.quantity - previous.quantity
        parts.append(f"quantity {previous.quantity.normalize():f} → "
                     f"{current.quantity.normalize():f} ({'+' if delta > 0 else ''}"
                     f"{delta.normalize():f})")
    if current.unit_price != previous.unit_price:
        parts.append(f"unit price {previous.unit_price.normalize():f} → "
                     f"{current.unit_price.normalize():f}")
    return "; ".join(parts) or None
