"""Reconciliation: find every leak and every mismatch between the hub and the systems it
talks to, say how much money is at stake, and point at the fix.

Sections, each runnable alone (``hub reconcile SECTION``):

- ``accounting`` — hub invoices, credit notes and payments against each accounting connection;
- ``payments`` — processor charges, refunds and disputes against the ledger;
- ``usage`` — vendor licence and usage counts against what was billed;
- ``time`` — billable time not invoiced after ``stale_days``;
- ``assets`` — managed devices and users that no recurring line counts.

Everything here reads: the database through read-only connections, other systems through their
read-only hooks. Large sides are compared as sorted streams (:mod:`hub.reconcile.streams`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Iterator

from hub.reconcile import accounting, assets, payments, unbilled_time, usage
from hub.reconcile.core import (
    DEFAULT_STALE_DAYS, Difference, NullProgress, Options, Progress, Section, Totals,
)

if TYPE_CHECKING:
    from hub.host.context import HubContext

__all__ = ["SECTIONS", "Difference", "Options", "Progress", "NullProgress", "Totals",
           "DEFAULT_STALE_DAYS", "reconcile", "skipped_sections", "NEEDS"]

#: Section name -> the function that runs it, in report order.
SECTIONS: dict[str, Section] = {
    "accounting": accounting.run,
    "payments": payments.run,
    "usage": usage.run,
    "time": unbilled_time.run,
    "assets": assets.run,
}


#: Section name -> (capability of the connections it compares with, what such a connection is).
#: A section whose systems are not connected cannot be checked: it is reported as *skipped*
#: with the reason, never as "no differences" (#19).
NEEDS: dict[str, tuple[str, str]] = {
    "accounting": ("accounting", "an accounting connection (e.g. Xero)"),
    "payments": ("payments", "a payments connection (e.g. Stripe)"),
    "usage": ("usage", "a vendor usage connection (e.g. Pax8)"),
}


def skipped_sections(ctx: "HubContext", sections: Iterable[str], options: Options
                     ) -> dict[str, str]:
    """``section -> reason`` for each of ``sections`` that has nothing to compare with."""
    skipped = {}
    for name in sections:
        if name not in NEEDS:
            continue
        capability, what = NEEDS[name]
        names = [c.name for c in ctx.connections(capability)]
        if not names:
            skipped[name] = f"not checked: no {capability} connection is configured " \
                            f"(add {what} to hub.toml)"
        elif options.connection and options.connection not in names:
            skipped[name] = f"not checked: {options.connection!r} is not a {capability} " \
                            f"connection (those are: {', '.join(names)})"
    return skipped


def reconcile(ctx: "HubContext", sections: Iterable[str], options: Options,
              progress: Progress | None = None) -> Iterator[Difference]:
    """Run ``sections`` in order and yield their differences as they are found."""
    progress = progress or NullProgress()
    for name in sections:
        yield from SECTIONS[name](ctx, options, progress)
