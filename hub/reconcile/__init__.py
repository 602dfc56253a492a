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
           "DEFAULT_STALE_DAYS", "reconcile"]

#: Section name -> the function that runs it, in report order.
SECTIONS: dict[str, Section] = {
    "accounting": accounting.run,
    "payments": payments.run,
    "usage": usage.run,
    "time": unbilled_time.run,
    "assets": assets.run,
}


def reconcile(ctx: "HubContext", sections: Iterable[str], options: Options,
              progress: Progress | None = None) -> Iterator[Difference]:
    """Run ``sections`` in order and yield their differences as they are found."""
    progress = progress or NullProgress()
    for name in sections:
        yield from SECTIONS[name](ctx, options, progress)
