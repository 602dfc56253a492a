"""Turning the accounting section's matched pairs and strays into differences, reading what a
difference needs (whole documents, lines, links, outbox rows, failed jobs) in batches."""

from __future__ import annotations

from decimal import Decimal
from functools import cached_property
from typing import Any, Iterator

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from hub.core.money import Money
from hub.db.models import InvoiceLine
from hub.db.models.ledger import CreditNoteLine
from hub.reconcile.core import Difference, Options
from hub.reconcile.documents import HubDoc, LineFigures, OtherDoc, money, status_class
from hub.reconcile.background import LookupConnection
from hub.reconcile.reading import Lookups
from hub.reconcile.accounting_kinds import BATCH, SECTION, DocumentKind
from hub.reconcile.accounting_missing import MissingDocuments, hub_doc
from hub.reconcile.accounting_sql import AccountingSQL

__all__ = ["AccountingComparer"]

_BATCH = BATCH


class AccountingComparer(MissingDocuments):
    """Turns matched pairs and strays of one (connection, kind) into differences, and finds
    the documents missing at the other side (:class:`MissingDocuments`)."""

    def __init__(self, lookup: LookupConnection, reader: Engine, connection: str,
                 kind: DocumentKind, options: Options) -> None:
        self._lookup, self.connection = lookup, connection
        self.kind, self.options = kind, options
        self.sql = AccountingSQL(kind, connection, options, reader.url.get_backend_name())
        self.systems = f"hub ↔ {connection}"
        self.lookups = Lookups(reader)
        self.claimed: set[int] = set()  # unlinked hub documents found at the other side
        self.line_queue: list[tuple[HubDoc, OtherDoc]] = []

    @property
    def conn(self) -> Connection:
        """The connection to look differences up on (the stream's, once it has ended)."""
        return self._lookup()

    # -- lookups for differences: built on first use (most reports need only some), then asked
    # once per batch of differences (SQL text, see accounting_sql).
    @cached_property
    def _links_of_keys(self):
        return self.sql.links_of_keys()

    @cached_property
    def _docs_by_keys(self):
        return self.sql.docs_by_keys()

    @cached_property
    def _docs_by_ids(self):
        return self.sql.docs_by_ids()

    @cached_property
    def _unlinked_by_ids(self):
        return self.sql.docs_by_ids(unlinked=True)

    @cached_property
    def _unlinked_by_numbers(self):
        return self.sql.unlinked_by_numbers()

    def resolve(self, batch: list[tuple[tuple, OtherDoc | None]]) -> Iterator[Difference]:
        """Streamed rows (keyed first) that disagree or are gone from the other side, read
        whole by key in one query, then compared field by field."""
        keys = sorted({row[0] for row, _ in batch})
        docs = {row[0]: row for row in self.conn.execute(self._docs_by_keys,
                                                         {"keys": keys})} if keys else {}
        for row, other in batch:
            whole = docs.get(row[0])
            if whole is None:
                continue  # deleted while the report ran: nothing left to compare
            hub = hub_doc(whole[0], whole, 1)
            if other is None:
                yield self.gone(hub)
            else:
                yield from self.pair(hub, other)

    # -- matched --------------------------------------------------------------------------------
    def pair(self, hub: HubDoc, other: OtherDoc) -> list[Difference]:
        """Differences between a linked hub document and its counterpart (usually none)."""
        hub_total = abs(hub.total) if self.kind.absolute else hub.total
        other_total = other.total
        if other_total is not None and self.kind.absolute:
            other_total = abs(other_total)
        same_status = status_class(hub.status) == status_class(other.status)
        if (hub_total == other_total and hub.currency == other.currency and same_status
                and other.lines is None):
            return []  # agreeing (the streamed fast path has already skipped most of these)
        found: list[Difference] = []
        if other.currency is not None and other.currency != hub.currency:
            found.append(self._diff(hub, "currency_differs", hub.currency, other.currency,
                                    Money.zero(hub.currency),
                                    "the document was pushed or edited with another currency"))
            return found
        if hub_total != other_total:
            gap = abs(hub_total - (other_total or Decimal(0)))
            found.append(self._diff(hub, "total_differs", money(hub_total, hub.currency),
                                    money(other_total, hub.currency), Money(gap, hub.currency),
                                    f"edited at {self.connection} after it was pushed, or "
                                    "pushed with different lines or tax",
                                    fix=self._credit_fix(hub)))
        elif other.lines is not None:
            self.line_queue.append((hub, other))
            if len(self.line_queue) >= _BATCH:
                found.extend(self.flush_lines())
        if not same_status:
            found.append(self._status_diff(hub, other))
        return found

    def _status_diff(self, hub: HubDoc, other: OtherDoc) -> Difference:
        ours, theirs = status_class(hub.status), status_class(other.status)
        fix = None
        if "void" in (ours, theirs):
            # One side still counts the document as owed or paid: all of it is at stake.
            at_stake = Money(abs(hub.total), hub.currency)
            if theirs == "void":
                cause = f"voided or deleted at {self.connection} but live in the hub"
                fix = self._credit_fix(hub)
            else:
                cause = f"deleted in the hub but still live at {self.connection}"
                fix = (f"void it at {self.connection} (the hub's void request may have been "
                       "refused: see `hub jobs list --failed`)")
        else:
            # paid versus open: the money itself shows on the payment documents.
            at_stake = Money.zero(hub.currency)
            cause = "a payment is recorded on one side only (see the payment differences)"
        return self._diff(hub, "status_differs", str(hub.status), str(other.status), at_stake,
                          cause, fix=fix)

    def flush_lines(self) -> list[Difference]:
        """Compare the queued pairs' lines, one query per batch."""
        if not self.line_queue:
            return []
        queue, self.line_queue = self.line_queue, []
        hub_lines = _hub_lines(self.conn, self.kind, [hub.id for hub, _ in queue])
        found = []
        for hub, other in queue:
            ours = hub_lines.get(hub.id, [])
            theirs = list(other.lines or ())
            if len(ours) == len(theirs) and all(a.same_as(b) for a, b in zip(ours, theirs)):
                continue
            found.append(self._diff(hub, "lines_differ", _describe_lines(ours, hub.currency),
                                    _describe_lines(theirs, hub.currency),
                                    Money.zero(hub.currency),
                                    "same total but different lines: revenue is posted to the "
                                    f"wrong lines at {self.connection} (edited there?)"))
        return found

    # -- only at the other side -----------------------------------------------------------------
    def strays(self, batch: list[OtherDoc]) -> Iterator[Difference]:
        """Documents the hub stream had no link for (see module docstring), looked up together."""
        if not batch:
            return
        keys = [o.key for o in batch]
        linked = dict(self.conn.execute(self._links_of_keys, {"keys": keys}).all())
        docs = self._rows("_docs_by_ids", "ids", set(linked.values()))
        unlinked = []
        wanted = self.options.organisation_id
        for other in batch:
            if not self.options.in_window(other.date):
                continue  # outside the window asked for (the hub side was filtered the same)
            document_id = linked.get(other.key)
            if document_id is not None:
                row = docs.get(document_id)
                if row is None or (wanted is not None and row.organisation_id != wanted):
                    continue  # outside the organisation asked for
                yield from self.pair(hub_doc(other.key, row), other)
                continue
            organisation_id = self.lookups.organisation_of_ref(self.connection,
                                                               other.organisation_ref)
            if wanted is not None and organisation_id != wanted:
                continue
            unlinked.append((other, organisation_id))
        if not unlinked:
            return
        by_id = self._rows("_unlinked_by_ids", "ids",
                           {o.hub_id for o, _ in unlinked if o.hub_id is not None})
        by_number: dict[Any, Any] = {}
        if self._unlinked_by_numbers is not None:
            numbers = {o.number for o, _ in unlinked if o.hub_id is None and o.number}
            if numbers:
                by_number = {row.number: row for row in self.conn.execute(
                    self._unlinked_by_numbers, {"numbers": sorted(numbers)})}
        for other, organisation_id in unlinked:
            row = by_id.get(other.hub_id) if other.hub_id is not None else (
                by_number.get(other.number) if other.number else None)
            if row is not None and row.id not in self.claimed:
                self.claimed.add(row.id)
                candidate = hub_doc(other.key, row)
                yield self._diff(candidate, "not_linked", "no link recorded",
                                 f"exists as {other.key}", Money.zero(candidate.currency),
                                 "pushed, but the outcome was never recorded in the hub (worker "
                                 "stopped mid-push?); pushing again finds it and records the "
                                 "link", fix=self._repush(candidate.id))
            else:
                yield self._only_there(other, organisation_id)

    def _only_there(self, other: OtherDoc, organisation_id: int | None) -> Difference:
        currency = other.currency or "XXX"
        amount = abs(other.total) if other.total is not None else Decimal(0)
        label = other.number or other.key
        if self.kind.name == "payment":
            kind, cause = ("payment_only_in_accounting",
                           f"payment recorded directly in {self.connection}, never brought into "
                           "the hub's ledger")
        else:
            kind, cause = ("extra_in_accounting",
                           f"{self.kind.label} created directly in {self.connection}, not by "
                           "the hub")
        return Difference(SECTION, kind, organisation_id, f"{self.kind.label} {label}",
                          self.systems, "absent", money(other.total, currency),
                          Money(amount, currency), cause, None, self.connection)

    def _rows(self, statement: str, name: str, values: set) -> dict[Any, Any]:
        """Rows of the statement named ``statement`` by id for these ids. None are asked when
        there are none, and the statement is then not even built (a report compiles each one
        it uses afresh: its cost is a report's fixed cost)."""
        if not values:
            return {}
        return {row.id: row for row in self.conn.execute(getattr(self, statement),
                                                         {name: sorted(values)})}

    # -- only in the hub ------------------------------------------------------------------------
    def gone(self, hub: HubDoc) -> Difference:
        """A linked hub document the other system did not list."""
        return self._diff(hub, "gone_from_accounting", money(hub.total, hub.currency),
                          "absent", Money(abs(hub.total), hub.currency),
                          f"pushed as {hub.key} but {self.connection} no longer lists it "
                          "(deleted there?)", fix=self._repush(hub.id))

    # -- helpers --------------------------------------------------------------------------------
    def _repush(self, document_id: int) -> str:
        return f"hub outbox repush {self.kind.name} {document_id} --connection {self.connection}"

    def _credit_fix(self, hub: HubDoc) -> str | None:
        if self.kind.name != "invoice":
            return None
        return f"issue a credit note for invoice {hub.number or hub.id}, then push it"

    def _diff(self, hub: HubDoc, kind: str, ours: str, theirs: str, at_stake: Money,
              cause: str, fix: str | None = None) -> Difference:
        label = hub.number or f"#{hub.id}"
        return Difference(SECTION, kind, hub.organisation_id,
                          f"{self.kind.label} {label}", self.systems, ours, theirs, at_stake,
                          cause, fix, self.connection)


def _hub_lines(conn, kind: DocumentKind, ids: list[int]) -> dict[int, list[LineFigures]]:
    """The lines of these invoices or credit notes, in order."""
    if kind.name == "invoice":
        statement = (select(InvoiceLine.invoice_id, InvoiceLine.quantity, InvoiceLine.amount,
                            InvoiceLine.description)
                     .where(InvoiceLine.invoice_id.in_(ids))
                     .order_by(InvoiceLine.invoice_id, InvoiceLine.position, InvoiceLine.id))
    elif kind.name == "credit_note":
        statement = (select(CreditNoteLine.credit_note_id, CreditNoteLine.quantity,
                            CreditNoteLine.amount, CreditNoteLine.description)
                     .where(CreditNoteLine.credit_note_id.in_(ids))
                     .order_by(CreditNoteLine.credit_note_id, CreditNoteLine.id))
    else:
        return {}
    result: dict[int, list[LineFigures]] = {}
    for owner, quantity, amount, description in conn.execute(statement):
        result.setdefault(owner, []).append(LineFigures(quantity, amount, description))
    return result


def _describe_lines(lines: list[LineFigures], currency: str) -> str:
    parts = [f"{format(l.quantity.normalize(), 'f')} × {l.description or 'line'} = "
             f"{Money(l.amount, currency).rounded().amount}" for l in lines]
    return f"{len(lines)} lines: " + "; ".join(parts)
