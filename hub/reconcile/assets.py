"""Section *assets*: managed devices and users that no recurring line counts.

For each organisation, the active counter lines of its active recurring invoices and billing
contracts are counted *now* through the counter hooks, exactly as the next billing run would;
what they count is the set of devices and people being billed. The organisation's active,
not-deleted assets are then merge-joined (by id) with the counted ones; a device no line counts
is a device the MSP manages for free. Users are checked the same way, but only where the
organisation is billed per user at all (has a user counter line): contacts of a customer billed
per device are not a leak.

Money at stake for one uncounted device or user: the unit price of the organisation's cheapest
counter line of that kind (what the least it would have been billed), or zero when it has none.
Counters that answer live with their own refs are matched on ``<connection>:...:<external id>``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, Iterator

from sqlalchemy import select

from hub.core.money import Money
from hub.db.models import (
    Asset, BillingContract, Contact, Organisation, RecurringInvoice, RecurringLine,
)
from hub.reconcile.core import Difference, Options, Progress
from hub.reconcile.counting import Counting
from hub.reconcile.reading import read_only, stream
from hub.reconcile.streams import merge_join

if TYPE_CHECKING:
    from hub.host.context import HubContext

__all__ = ["run"]

SECTION = "assets"
_KINDS = {"asset_counter": "assets", "user_counter": "users"}


def run(ctx: "HubContext", options: Options, progress: Progress) -> Iterator[Difference]:
    """Uncounted devices and users, organisation by organisation."""
    progress.start(SECTION, "devices and users against counter lines")
    with read_only(ctx.engine) as reader, reader.connect() as conn, \
            reader.connect() as detail:
        counting = Counting(ctx, reader)
        organisations = select(Organisation.id, Organisation.currency).where(
            Organisation.active.is_(True)).order_by(Organisation.id)
        if options.organisation_id is not None:
            organisations = organisations.where(Organisation.id == options.organisation_id)
        for organisation_id, currency in stream(conn, organisations):
            progress.advance()
            lines = _counter_lines(detail, organisation_id)
            for line_type, kind in _KINDS.items():
                templates = [l for l in lines if l.line_type == line_type]
                if kind == "users" and not templates:
                    continue  # not billed per user: its contacts are not a leak
                yield from _uncounted(detail, counting, options, organisation_id, currency,
                                      kind, templates)


def _counter_lines(conn, organisation_id: int) -> list[Any]:
    """Active counter template lines of the organisation's recurring invoices and contracts."""
    schedule = (select(RecurringLine.line_type, RecurringLine.counter_filters,
                       RecurringLine.unit_price)
                .join(RecurringInvoice, RecurringInvoice.id == RecurringLine.recurring_invoice_id)
                .where(RecurringInvoice.organisation_id == organisation_id,
                       RecurringInvoice.active.is_(True), RecurringLine.active.is_(True),
                       RecurringLine.line_type.in_(list(_KINDS))))
    contract = (select(RecurringLine.line_type, RecurringLine.counter_filters,
                       RecurringLine.unit_price)
                .join(BillingContract, BillingContract.id == RecurringLine.contract_id)
                .where(BillingContract.organisation_id == organisation_id,
                       BillingContract.active.is_(True), RecurringLine.active.is_(True),
                       RecurringLine.line_type.in_(list(_KINDS))))
    return list(conn.execute(schedule)) + list(conn.execute(contract))


def _uncounted(conn, counting: Counting, options: Options, organisation_id: int, currency: str,
               kind: str, templates: list[Any]) -> Iterator[Difference]:
    today = options.today
    refs: set[str] = set()
    for template in templates:
        counted = counting.count(kind, organisation_id, template.counter_filters or {},
                                 today, today)
        refs.update(item["ref"] for item in counted.provenance)
    prefix = "asset:" if kind == "assets" else "contact:"
    counted_ids = sorted(int(r.removeprefix(prefix)) for r in refs
                         if r.startswith(prefix) and r.removeprefix(prefix).isdigit())
    price = min((Decimal(t.unit_price) for t in templates), default=None)
    model = Asset if kind == "assets" else Contact
    conditions = [model.organisation_id == organisation_id, model.deleted_at_source.is_(None)]
    if kind == "assets":
        conditions.append(Asset.status == "active")
    rows = stream(conn, select(model.id, model.name, model.source, model.external_id)
                  .where(*conditions).order_by(model.id))
    noun = "device" if kind == "assets" else "user"
    for row, counted in merge_join(rows, counted_ids, lambda r: r.id, lambda i: i):
        if row is None or counted is not None:
            continue
        if row.source and row.external_id and any(
                ref.startswith(f"{row.source}:") and ref.endswith(f":{row.external_id}")
                for ref in refs):
            continue  # counted live by its connector under its own ref
        at_stake = Money(price, currency) if price is not None else Money.zero(currency)
        cause = (f"no counter line's filters match this {noun}" if templates else
                 f"no recurring line counts {noun}s for this organisation")
        yield Difference(SECTION, f"{noun}_not_counted", organisation_id,
                         f"{noun} {row.name} ({prefix}{row.id})", f"hub {kind} ↔ hub invoices",
                         "managed", "not counted by any recurring line", at_stake, cause,
                         f"add a {noun} counter line or widen its filters on the recurring "
                         "invoice")
