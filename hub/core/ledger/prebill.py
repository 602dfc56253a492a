"""Pre-bills and WIP (seed 003, Synergy).

A **pre-bill** invoices a project stage up-front, as a percentage of the stage fee or a value;
that amount is the pre-bill balance for future WIP. WIP transactions are attached later, chosen
by one of three methods:

- **all** WIP of the stage;
- a **date range** (by default from the earliest to the latest WIP);
- **closest** to the pre-bill, in date order (offered only when there is more WIP than the
  pre-bill): the longest run of WIP under the balance can be marked up to it, the shortest run
  over it marked down to it ($1,000 pre-bill, WIP 200/300/600/100/200: markup $500 or markdown
  $1,100, both closing the pre-bill).

Then the attached WIP is **marked up** or **marked down** to the balance (closing the pre-bill)
or used **exactly**, which leaves a balance that can be closed later (September/October
example: markup $800 to $1,000 and close, or use $800 and leave $200).

The balance left is always the *revenue* amount: credit notes on the pre-bill invoice reduce it,
write-offs do not.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Hashable, Literal, Sequence

from hub.core.money import Money
from hub.errors import ValidationFailed

__all__ = ["Wip", "Option", "Attachment", "prebill_amount", "line_description", "select_all",
           "select_range", "closest_runs", "options_for", "attach", "prebill_balance"]

Use = Literal["markup", "markdown", "exact"]


@dataclass(frozen=True)
class Wip:
    """A WIP transaction: its date and value."""

    key: Hashable
    date: dt.date
    value: Money


@dataclass(frozen=True)
class Option:
    """One way to attach a selection: ``use`` the WIP worth ``wip_total`` and bill ``billed``;
    ``close`` says whether the pre-bill closes; ``balance_after`` is what stays open."""

    use: Use
    wip: tuple[Hashable, ...]
    wip_total: Money
    billed: Money
    close: bool
    balance_after: Money


@dataclass(frozen=True)
class Attachment:
    """The result of attaching: the billed value per WIP transaction and the new balance."""

    billed: tuple[tuple[Hashable, Money], ...]
    adjustment: Money
    balance_after: Money
    closed: bool


def prebill_amount(stage_fee: Money, *, percent: Decimal | str | None = None,
                   value: Money | None = None) -> Money:
    """The pre-bill: ``percent`` of the stage fee ("Invoiced %") or a ``value`` (Total ex. tax)."""
    if (percent is None) == (value is None):
        raise ValidationFailed("give either a percentage or a value for the pre-bill",
                               hint="use --percent 40 or --value 1000")
    if stage_fee.amount <= 0:
        raise ValidationFailed(f"a stage fee of {stage_fee.amount} is not a fee",
                               hint="give the stage's fee, greater than zero")
    if percent is not None:
        pct = Decimal(str(percent))
        if not Decimal(0) < pct <= Decimal(100):
            raise ValidationFailed(f"{pct}% is not between 0 and 100")
        amount = (stage_fee * pct / Decimal(100)).rounded()
    else:
        if value.amount <= 0:
            raise ValidationFailed("a pre-bill value must be greater than zero")
        if value.amount > stage_fee.amount:
            raise ValidationFailed(f"a pre-bill of {value.amount} is more than the stage fee "
                                   f"of {stage_fee.amount}",
                                   hint="pre-bill at most the stage fee (100 %)")
        amount = value.rounded()
    if amount.amount <= 0:
        # a sliver of a small fee rounds to nothing: an invoice of 0.00 would be "paid" at once
        raise ValidationFailed(f"the pre-bill comes to {amount.amount} {amount.currency}",
                               hint="pre-bill a larger share of the stage fee")
    return amount


def line_description(project: str, stage: str) -> str:
    """The description of the pre-bill's invoice line, naming the project and stage. It is an
    invoice line like any other, so the service holds it to the rules of a line's description
    (:func:`hub.ledger.prebills.create_prebill`)."""
    return f"pre-bill: {project} / {stage}"


def _in_order(wip: Sequence[Wip]) -> list[Wip]:
    return sorted(wip, key=lambda w: (w.date, str(w.key)))


def select_all(wip: Sequence[Wip]) -> list[Wip]:
    """Method 1: all WIP of the stage (the default selection)."""
    return _in_order(wip)


def select_range(wip: Sequence[Wip], start: dt.date | None = None,
                 end: dt.date | None = None) -> list[Wip]:
    """Method 2: WIP dated ``start``..``end``, defaulting to the earliest and the latest WIP."""
    ordered = _in_order(wip)
    if not ordered:
        return []
    start = start or ordered[0].date
    end = end or ordered[-1].date
    if end < start:
        raise ValidationFailed(f"the date range ends ({end}) before it starts ({start})")
    return [w for w in ordered if start <= w.date <= end]


def _total(items: Sequence[Wip], currency: str) -> Money:
    return Money.sum((w.value for w in items), currency)


def closest_runs(wip: Sequence[Wip], balance: Money) -> dict[str, list[Wip]]:
    """Method 3: WIP in date order, as close to ``balance`` as possible from below
    ('markup') and from above ('markdown'). Refused when the WIP does not exceed the balance."""
    ordered = _in_order(wip)
    if _total(ordered, balance.currency) <= balance:
        raise ValidationFailed("'closest to the pre-bill' needs more WIP than the pre-bill balance",
                               hint="attach all WIP or a date range instead")
    runs: dict[str, list[Wip]] = {}
    running = Money.zero(balance.currency)
    for i, item in enumerate(ordered):
        running = running + item.value
        if running == balance:
            return {"exact": ordered[: i + 1]}
        if running > balance:
            runs["markdown"] = ordered[: i + 1]
            break
        runs["markup"] = ordered[: i + 1]
    return runs


def options_for(selection: Sequence[Wip], balance: Money) -> list[Option]:
    """The options the seed offers for a selection against the pre-bill ``balance``."""
    if not selection:
        raise ValidationFailed("no WIP selected", hint="choose another method or date range")
    total = _total(selection, balance.currency)
    keys = tuple(w.key for w in selection)
    zero = Money.zero(balance.currency)
    if total == balance:
        return [Option("exact", keys, total, total, True, zero)]
    if total > balance:
        return [Option("markdown", keys, total, balance, True, zero)]
    return [Option("markup", keys, total, balance, True, zero),
            Option("exact", keys, total, total, False, balance - total)]


def attach(selection: Sequence[Wip], balance: Money, use: Use, *, close: bool | None = None
           ) -> Attachment:
    """Attach ``selection`` using ``use``; markup/markdown spread the difference over the WIP
    in proportion to its value (largest remainder, so it adds up to the cent) and close the
    pre-bill; exact leaves the rest open unless ``close`` is given."""
    offered = {o.use: o for o in options_for(selection, balance)}
    if use not in offered:
        names = ", ".join(sorted(offered))
        raise ValidationFailed(f"'{use}' is not offered for WIP worth "
                               f"{_total(selection, balance.currency)} against a pre-bill balance "
                               f"of {balance}", hint=f"choose one of: {names}")
    option = offered[use]
    if use == "exact":
        billed = tuple((w.key, w.value) for w in selection)
    else:
        ratios = [w.value.amount for w in selection]
        parts = option.billed.allocate(ratios) if any(ratios) else \
            option.billed.allocate([1] * len(selection))
        billed = tuple((w.key, p) for w, p in zip(selection, parts))
    closed = option.close if close is None else (close or option.close)
    after = Money.zero(balance.currency) if closed else option.balance_after
    return Attachment(billed, option.billed - option.wip_total, after, closed)


def prebill_balance(invoice_net: Money, *, credits: Money | None = None,
                    write_offs: Money | None = None, attached: Money | None = None,
                    closed: bool = False) -> Money:
    """The pre-bill balance: revenue (net minus credits) minus attached WIP; zero once closed.

    ``write_offs`` are accepted and deliberately ignored: a write-off does not change revenue.
    """
    if closed:
        return Money.zero(invoice_net.currency)
    zero = Money.zero(invoice_net.currency)
    del write_offs  # seed 003, example 2: the pre-bill remains at revenue after a write-off
    revenue = invoice_net - (credits or zero)
    return (revenue - (attached or zero)).max_zero()
