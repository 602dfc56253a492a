"""One bad record never stops a billing run: what cannot be billed is left out and named.

A schedule or contract cycle is *left out* of the batch when its organisation's currency is
not a currency, a template line's tax rate or counter filters are invalid, its invoice would be
negative, or loading, counting, pricing or storing it fails. Each is screened or tried on its
own only when its chunk fails as a whole, so the usual run stays one query per chunk. What was
left out is stored on the batch (:attr:`BillingBatch.left_out`): the organisation, the recurring
invoice or contract, and the reason; ``hub bill show`` and ``GET /batches/{id}`` list it.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, Callable, Sequence, TypeVar

from hub.billing.counters import Counter
from hub.billing.drafts import Draft, DueInvoice, build_draft, count_lines, snapshot_lines
from hub.billing.loading import CATCH_UP
from hub.core.lines import LineKind
from hub.core.money import STORAGE_PLACES, decimal_places
from hub.errors import HubError
from hub.db.types import MAX_INTEGER_DIGITS
from hub.validation.fields import AMOUNT_LIMIT, check_currency, check_filters, largest_amount

__all__ = ["LeftOut", "screen", "build_isolated", "each_alone", "reason_of", "describe"]

log = logging.getLogger("hub.billing")

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class LeftOut:
    """A schedule or cycle a run could not bill, and why."""

    organisation_id: int | None
    billing_key: str
    reason: str
    organisation: str = ""

    @property
    def agreement(self) -> str:
        """``recurring invoice 5`` or ``contract 3``."""
        kind, _, number = self.billing_key.partition(":")
        number = number.split(":")[0]
        return {"schedule": "recurring invoice", "contract": "contract"}.get(kind, kind) + \
            f" {number}"

    def as_dict(self) -> dict[str, Any]:
        """Stored on the batch and answered by the API."""
        return {**asdict(self), "agreement": self.agreement}


def describe(item: dict[str, Any]) -> str:
    """One line for a stored left-out entry."""
    who = item.get("organisation") or "organisation"
    return (f"left out: {who} (#{item.get('organisation_id')}), {item.get('agreement')}: "
            f"{item.get('reason')}")


def reason_of(exc: BaseException) -> str:
    """A one-line reason: a hub refusal's own message, else the error's type and text."""
    if isinstance(exc, HubError):
        return exc.user_message()
    text = str(exc).splitlines()[0] if str(exc) else ""
    if isinstance(exc, ValueError) and text.endswith("integer digits"):  # hub.db.types
        return (f"an amount of {text.split()[0]} is more than the money columns hold "
                f"({MAX_INTEGER_DIGITS} integer digits): lower the price or quantity of its "
                f"lines with `hub recurring edit-line`")[:300]
    return f"{type(exc).__name__}: {text}"[:300]


def _too_fine(value) -> bool:
    """None, not finite, or finer than the columns keep."""
    if value is None or not value.is_finite():
        return True
    # Three values per template line of a run, and few distinct ones (prices, rates, counts):
    # a value seen to fit is remembered. The answer depends only on the number (equal values
    # use the same places once normalised), so an equal value written otherwise fits too.
    if value in _FITS:
        return False
    if value.as_tuple().exponent < -STORAGE_PLACES and decimal_places(value) > STORAGE_PLACES:
        return True
    if len(_FITS) < _FITS_KEPT:
        _FITS.add(value)
    return False


#: Finite values known to fit the columns (see _too_fine), at most _FITS_KEPT of them.
_FITS: set = set()
_FITS_KEPT = 10_000


def _line_problem(line) -> str | None:
    for name, value in (("quantity", line.quantity), ("unit_price", line.unit_price),
                        ("tax_rate", line.tax_rate)):
        if _too_fine(value):
            return f"line {line.id} has {name} {value}; fix it with `hub recurring edit-line`"
    if not 0 <= line.tax_rate <= 100:
        return (f"line {line.id} has a tax rate of {line.tax_rate} %, outside 0–100; fix it "
                f"with `hub recurring edit-line {line.id} --tax RATE`")
    if line.quantity < 0:
        return (f"line {line.id} has a negative quantity {line.quantity}; fix it with "
                f"`hub recurring edit-line {line.id} --qty N`")
    if not line.counter_filters and line.line_type not in LineKind.COUNTERS:
        return None  # most lines: a flat line without filters
    problem = _filters_problem(line.line_type, line.counter_filters)
    if problem:
        return f"line {line.id}: {problem}; fix it with `hub recurring edit-line {line.id} --filters`"
    return None


def _filters_problem(line_type: str, filters: Any) -> str | None:
    """Why ``filters`` do not suit a ``line_type`` line (:func:`check_filters`), or None;
    remembered by value (a run's counter lines share a handful of filters)."""
    try:
        return _filters_problem_of(line_type, tuple(filters.items()) if filters else ())
    except TypeError:  # a list value is not hashable: checked each time
        return _filters_refusal(line_type, filters)


@lru_cache(maxsize=1024)
def _filters_problem_of(line_type: str, items: tuple) -> str | None:
    return _filters_refusal(line_type, dict(items))


def _filters_refusal(line_type: str, filters: Any) -> str | None:
    try:
        check_filters(line_type, filters)
    except ValueError as exc:
        return str(exc)
    return None


def screen(due: DueInvoice) -> str | None:
    """Why ``due`` cannot be billed as stored, or None."""
    try:
        check_currency(due.currency)
    except ValueError as exc:
        return f"currency: {exc}; fix it with `hub org edit {due.organisation_id} --currency`"
    for line in due.lines:
        problem = _line_problem(line)
        if problem:
            return problem
    return None


def each_alone(items: Sequence[T], work: Callable[[Sequence[T]], list[R]],
               on_error: Callable[[T, BaseException], None]) -> list[R]:
    """``work(items)``; if that fails, ``work([item])`` for each item on its own, handing the
    ones that still fail to ``on_error`` (they are left out; the others go on)."""
    try:
        return work(items)
    except Exception as exc:  # noqa: BLE001 - isolated below, each failure is reported
        if len(items) == 1:
            on_error(items[0], exc)
            return []
        log.warning("a chunk of %d failed (%s); trying each on its own", len(items),
                    reason_of(exc))
    results: list[R] = []
    for item in items:
        try:
            results.extend(work([item]))
        except Exception as exc:  # noqa: BLE001 - the record is named in the batch
            log.warning("left out of the run: %s", reason_of(exc), exc_info=True)
            on_error(item, exc)
    return results


def build_isolated(dues: list[DueInvoice], counter: Counter, now: dt.datetime,
                   names: dict[int, str], tax_rounding: str = "line"
                   ) -> tuple[list[Draft], list[LeftOut]]:
    """Drafts for every due that can be billed, and the ones left out (with why); tax is
    rounded as ``tax_rounding`` (``billing.tax_rounding``) says."""
    left: list[LeftOut] = []
    dropped: set[str] = set()

    def leave(due: DueInvoice, reason: str) -> None:
        if due.billing_key not in dropped:
            dropped.add(due.billing_key)
            left.append(LeftOut(due.organisation_id, due.billing_key, reason,
                                names.get(due.organisation_id, "")))

    good = []
    for due in dues:
        problem = screen(due)
        if problem:
            leave(due, problem)
        elif due.billing_key not in dropped:
            good.append(due)
    counted: dict[int, dict] = {}

    def count(chunk: Sequence[DueInvoice]) -> list[tuple[int, dict]]:
        with counter.prefetch({due.organisation_id for due in chunk}):
            return list(zip((id(d) for d in chunk), count_lines(list(chunk), counter)))

    counted.update(each_alone(good, count, lambda due, exc: leave(due, reason_of(exc))))
    drafts: list[Draft] = []
    for due in good:
        if due.billing_key in dropped or id(due) not in counted:
            leave(due, "an earlier period of it could not be counted")
            continue
        if due.previous is CATCH_UP:
            if not drafts or drafts[-1].invoice["billing_key"] != due.billing_key:
                leave(due, "an earlier period of it was left out")
                continue
            due.previous = snapshot_lines(_Row(line) for line in drafts[-1].lines)
        try:
            draft = build_draft(due, counted[id(due)], now, tax_rounding)
        except Exception as exc:  # noqa: BLE001 - the record is named in the batch
            leave(due, reason_of(exc))
            continue
        too_large = _too_large(draft)
        if too_large:
            leave(due, too_large)
            continue
        if draft.invoice["total"] < 0:
            leave(due, f"its invoice would total {draft.invoice['total']} {due.currency}, "
                       f"below zero; fix its lines with `hub recurring edit-line`")
            continue
        drafts.append(draft)
    # A schedule left out part-way keeps none of its periods: it is billed whole next time.
    return [d for d in drafts if d.invoice["billing_key"] not in dropped], left


def _too_large(draft: Draft) -> str | None:
    """Why ``draft`` would not fit the money columns (naming its largest line), or None."""
    invoice = draft.invoice
    # Two comparisons per invoice in the usual run; a line past the limit that a credit line
    # offsets is still met when it is stored, and named by reason_of.
    if abs(invoice["total"]) < AMOUNT_LIMIT and abs(invoice["subtotal"]) < AMOUNT_LIMIT:
        return None
    largest = max(draft.lines, key=lambda line: abs(line["amount"]))
    key = largest["source_line_key"] or ""
    fix = (f"`hub recurring edit-line {key[5:]}`" if key.startswith("line:")
           else "its agreement's lines")
    return (f"its invoice would total {invoice['total']} {invoice['currency']}, more than the "
            f"largest amount allowed ({largest_amount(invoice['currency'])}); lower the price "
            f"or quantity of line {largest['description']!r} with {fix}")


class _Row:
    """Attribute access to a draft line dict (for :func:`snapshot_lines`)."""

    def __init__(self, line: dict[str, Any]) -> None:
        self.__dict__.update(line)
