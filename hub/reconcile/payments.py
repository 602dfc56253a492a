"""Section *payments*: each payment processor's charges, refunds and disputes against the
ledger.

Per payments connection, the processor's documents of the three kinds
(``hub_fetch_external_documents`` with ``kind`` ``charge``, ``refund``, ``dispute``) are put in
id order in bounded memory and merge-joined with the ledger's payments of that processor, read in
``processor_object_id`` order (the unique key that makes one ledger payment per processor
object). Reported:

- a processor object that moved money and has no ledger payment (a webhook never arrived or
  failed to apply — the failed inbox job is named when there is one);
- a pair whose amount, currency or state disagree (a refund is negative in the ledger and
  positive at the processor: amounts are compared without sign);
- a ledger payment that claims a processor object the processor does not list.

What plugins return (``ExternalDocument``): ``external_id`` is the charge, refund or dispute id
(a charge made through a payment intent is matched by ``attributes["payment_intent"]``, which
is what the ledger records, and of an intent's several charges the one that moved money counts);
``total`` its amount; ``status`` the processor's word (charges: ``succeeded``, ``pending``,
``failed``; refunds: ``succeeded``, ``pending``, ``failed``, ``canceled``; disputes:
``warning_needs_response``, ``needs_response``, ``under_review``, ``won``, ``lost``, ...);
``organisation_ref`` the processor's customer id (as in ``OrganisationMapping``) — for a refund
or dispute without one, the organisation of the ledger payment named by ``payment_intent`` or
``charge``; ``date``.
"""

from __future__ import annotations

from decimal import Decimal
from itertools import chain, groupby
from typing import TYPE_CHECKING, Any, Iterable, Iterator, NamedTuple

from sqlalchemy import select
from sqlalchemy.engine import Engine

from hub.core.money import Money
from hub.db.models import InboxEvent, JobRecord, JobStatus
from hub.db.models.ledger import Payment, PaymentStatus
from hub.errors import PluginError
from hub.reconcile.core import Difference, Options, Progress
from hub.reconcile.documents import OtherDoc, money
from hub.reconcile.reading import Lookups, key_order, read_only, stream
from hub.reconcile.streams import merge_join, sorted_stream

if TYPE_CHECKING:
    from hub.host.context import HubContext

__all__ = ["run", "compare_processor", "PROCESSOR_KINDS"]

SECTION = "payments"
PROCESSOR_KINDS = ("charge", "refund", "dispute")

#: Processor states in which money has moved (or is moving) and the ledger must show it.
_MOVES_MONEY = {
    "charge": {"succeeded", "pending", "processing"},
    "refund": {"succeeded", "pending"},
    # a dispute withdraws the funds when opened; inquiries (warning_*) and won ones do not
    "dispute": {"needs_response", "under_review", "lost", "charge_refunded"},
}

#: The ledger state each processor state should have produced.
_LEDGER_STATE = {
    "succeeded": PaymentStatus.succeeded, "pending": PaymentStatus.processing,
    "processing": PaymentStatus.processing, "failed": PaymentStatus.failed,
    "canceled": PaymentStatus.failed,
}


class LedgerPayment(NamedTuple):
    """A ledger payment of one processor, as reconciliation reads it."""

    key: str
    id: int
    organisation_id: int
    currency: str
    amount: Decimal
    status: str
    method: str


def run(ctx: "HubContext", options: Options, progress: Progress) -> Iterator[Difference]:
    """Every payments connection (or ``options.connection``)."""
    for connection in ctx.connections("payments"):
        if options.connection and connection.name != options.connection:
            continue
        progress.start(SECTION, f"{connection.name}: charges, refunds, disputes")
        streams = []
        for kind in PROCESSOR_KINDS:
            documents = ctx.plugins.hook.hub_fetch_external_documents(
                connection=connection, kind=kind, since=options.since, until=options.until)
            if documents is None:
                raise PluginError(f"connection {connection.name!r} ({connection.plugin}) cannot "
                                  f"list {kind}s for reconciliation",
                                  hint="update its plugin, or reconcile other connections with "
                                       "--connection")
            streams.append(_of_kind(documents, kind))
        yield from compare_processor(ctx.engine, connection.name, chain(*streams), options,
                                     progress)


def _key(doc: OtherDoc) -> str:
    return doc.key


def _of_kind(documents: Iterable[Any], kind: str) -> Iterator[OtherDoc]:
    """The plugin's documents of ``kind`` (bound now: the streams are read later), keyed as the
    ledger keys them: a charge made through a payment intent by the intent."""
    for document in documents:
        if document.kind != kind:
            continue
        other = OtherDoc.of(document)
        intent = document.attributes.get("payment_intent") if kind == "charge" else None
        yield other._replace(key=str(intent)) if intent else other


#: Which of several charges of one payment intent the ledger should show: the one that moved
#: money (declined attempts come before it).
_CHARGE_RANK = {"succeeded": 0, "pending": 1, "processing": 1}


def _one_per_key(ordered: Iterable[OtherDoc]) -> Iterator[OtherDoc]:
    """One document per key: a payment intent's charges reduced to the one that counts."""
    for _key_value, group in groupby(ordered, key=_key):
        items = list(group)  # the attempts of one intent: a handful
        if len(items) > 1:
            items.sort(key=lambda d: _CHARGE_RANK.get(str(d.status).lower(), 9))
        yield items[0]


def compare_processor(engine: Engine, connection: str, others: Iterable[OtherDoc],
                      options: Options, progress: Progress) -> Iterator[Difference]:
    """Reconcile the ledger's payments of processor ``connection`` with ``others``."""
    with read_only(engine) as reader, reader.connect() as streaming, reader.connect() as conn:
        lookups = Lookups(reader)
        ledger = _ledger_stream(streaming, engine, connection, options)
        ordered = _one_per_key(sorted_stream(others, key=_key))
        count = 0
        for ours, theirs in merge_join(ledger, ordered, lambda p: p.key, lambda d: d.key):
            count += 1
            if count == 1000:
                progress.advance(count)
                count = 0
            if ours is None:
                recorded = _recorded_elsewhere(conn, connection, theirs.key)
                if recorded is not None:
                    # in the ledger, outside the window or organisation asked for
                    if options.organisation_id in (None, recorded.organisation_id):
                        yield from _compare(recorded, theirs, connection)
                    continue
                found = _unrecorded(conn, lookups, connection, theirs, options)
                if found is not None:
                    yield found
            elif theirs is None:
                yield _diff(ours, connection, "no_processor_record",
                            money(ours.amount, ours.currency), "absent",
                            Money(abs(ours.amount), ours.currency),
                            f"the ledger names {connection} object {ours.key}, which "
                            f"{connection} does not list (wrong id, other account, test mode?)")
            else:
                yield from _compare(ours, theirs, connection)
        progress.advance(count)


def _ledger_stream(conn, engine: Engine, connection: str, options: Options
                   ) -> Iterator[LedgerPayment]:
    conditions = [Payment.processor == connection, Payment.processor_object_id.is_not(None)]
    if options.organisation_id is not None:
        conditions.append(Payment.organisation_id == options.organisation_id)
    if options.since is not None:
        conditions.append(Payment.date >= options.since)
    if options.until is not None:
        conditions.append(Payment.date <= options.until)
    statement = (select(Payment.processor_object_id, Payment.id, Payment.organisation_id,
                        Payment.currency, Payment.amount, Payment.status, Payment.method)
                 .where(*conditions)
                 .order_by(key_order(Payment.processor_object_id, engine)))
    for row in stream(conn, statement):
        yield LedgerPayment(*row)


def _recorded_elsewhere(conn, connection: str, object_id: str) -> LedgerPayment | None:
    """The ledger payment for this processor object, when the filtered stream left it out."""
    row = conn.execute(select(Payment.processor_object_id, Payment.id, Payment.organisation_id,
                              Payment.currency, Payment.amount, Payment.status, Payment.method)
                       .where(Payment.processor == connection,
                              Payment.processor_object_id == object_id)).first()
    return LedgerPayment(*row) if row is not None else None


def _compare(ours: LedgerPayment, theirs: OtherDoc, connection: str) -> list[Difference]:
    found = []
    if theirs.currency is not None and theirs.currency != ours.currency:
        return [_diff(ours, connection, "currency_differs", ours.currency, theirs.currency,
                      Money.zero(ours.currency), "recorded in the ledger with another currency")]
    their_amount = abs(theirs.total) if theirs.total is not None else None
    if their_amount is not None and abs(ours.amount) != their_amount:
        found.append(_diff(ours, connection, "amount_differs", money(ours.amount, ours.currency),
                           money(theirs.total, ours.currency),
                           Money(abs(abs(ours.amount) - their_amount), ours.currency),
                           "partially captured or refunded at the processor after the ledger "
                           "recorded it, or recorded by hand with another amount"))
    expected = _LEDGER_STATE.get(str(theirs.status).lower()) if theirs.kind != "dispute" else None
    if expected is not None and str(ours.status) != expected:
        moved = str(theirs.status).lower() in _MOVES_MONEY[theirs.kind]
        at_stake = Money(abs(ours.amount), ours.currency)
        found.append(_diff(ours, connection, "state_differs", str(ours.status),
                           str(theirs.status), at_stake,
                           "a later processor event (succeeded, failed, canceled) never "
                           "reached the ledger" if moved or expected == PaymentStatus.failed
                           else "the ledger is ahead of the processor"))
    return found


def _unrecorded(conn, lookups: Lookups, connection: str, theirs: OtherDoc,
                options: Options) -> Difference | None:
    """A processor object with no ledger payment: a difference when it moved money."""
    if str(theirs.status).lower() not in _MOVES_MONEY.get(theirs.kind, ()):
        return None  # failed charges, inquiries and the like need no ledger entry
    if not options.in_window(theirs.date):
        return None
    organisation_id = lookups.organisation_of_ref(connection, theirs.organisation_ref)
    if organisation_id is None and theirs.attributes.get("organisation_id") is not None:
        organisation_id = int(theirs.attributes["organisation_id"])
    if organisation_id is None:
        organisation_id = _organisation_of_payment(conn, connection, theirs)
    if options.organisation_id is not None and organisation_id != options.organisation_id:
        return None
    # Another ledger payment may hold it under a different processor name: not this report's.
    currency = theirs.currency or "XXX"
    cause, fix = _inbox_state(conn, connection, theirs.key)
    label = theirs.external_id or theirs.key
    if label != theirs.key:
        label = f"{label} ({theirs.key})"
    return Difference(SECTION, f"{theirs.kind}_missing_in_ledger", organisation_id,
                      f"{theirs.kind} {label}", f"ledger ↔ {connection}", "absent",
                      f"{money(theirs.total, currency)} ({theirs.status})",
                      Money(abs(theirs.total or Decimal(0)), currency), cause, fix, connection)


def _organisation_of_payment(conn, connection: str, theirs: OtherDoc) -> int | None:
    """A refund's or dispute's organisation: that of the ledger payment it is about."""
    related = [str(v) for v in (theirs.attributes.get("payment_intent"),
                                theirs.attributes.get("payment_object_id"),
                                theirs.attributes.get("charge")) if v]
    if not related:
        return None
    return conn.execute(select(Payment.organisation_id).where(
        Payment.processor == connection, Payment.processor_object_id.in_(related))).scalar()


def _inbox_state(conn, connection: str, object_id: str) -> tuple[str, str | None]:
    """Why a processor object is not in the ledger: a failed inbox event for it, if any."""
    failed = conn.execute(select(InboxEvent.id, InboxEvent.payload, InboxEvent.error).where(
        InboxEvent.connection == connection, InboxEvent.status == "failed"))
    for inbox_id, payload, error in failed:
        if isinstance(payload, dict) and object_id in (payload.get("object_id"),
                                                       payload.get("payment_object_id")):
            for job_id, args in conn.execute(select(JobRecord.id, JobRecord.args).where(
                    JobRecord.actor == "process_inbox_event",
                    JobRecord.status == JobStatus.failed)):
                if args and args[0] == inbox_id:
                    return f"its webhook event failed to apply: {error}", f"hub jobs retry {job_id}"
            return f"its webhook event failed to apply: {error}", None
    return (f"no webhook event from {connection} reached the hub for it (endpoint down, or "
            "the event type is not subscribed)", None)


def _diff(ours: LedgerPayment, connection: str, kind: str, hub_value: str, other_value: str,
          at_stake: Money, cause: str) -> Difference:
    return Difference(SECTION, kind, ours.organisation_id, f"payment #{ours.id} ({ours.key})",
                      f"ledger ↔ {connection}", hub_value, other_value, at_stake, cause, None,
                      connection)
