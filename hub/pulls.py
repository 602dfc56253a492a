"""Pull one connection: ask its plugin for pages of facts and store them, idempotently.

For each kind (organisations, contacts, assets, tickets, usage) the service calls the
``hub_pull_*`` hook page by page and upserts what comes back into the catalogue tables, keyed by
``(source = connection name, external_id)``. The rules:

- **Organisations are resolved only through** :class:`OrganisationMapping`. A company seen at the
  source gets a mapping row; until someone sets its ``organisation_id`` it is *unmapped*: reported,
  and the contacts/assets/tickets under it are held (:class:`HeldRecord`) until the next pull after
  the mapping exists. Nothing is guessed from a name and nothing is dropped.
  ``create_organisations=True`` is the explicit opt-in that imports every unmapped company as a
  new hub organisation (first set-up, demo, benchmark).
- **Deleted at source**: a record flagged ``deleted``, or a row missing from a *full* pull (every
  page ``full`` and the pull run from its first page), gets ``deleted_at_source`` set, so the
  stored counters stop counting it. A pending (not yet charged) ticket charge whose time entry or
  ticket disappeared is removed, so it cannot be billed; charged or invoiced ones are kept.
- **Idempotent**: a row is written only when a field differs, so pulling twice reports only
  ``unchanged`` the second time.
- **Incremental**: the time each kind's last completed pull *started* is kept in the connection's
  state and passed as ``since`` (less :data:`SINCE_OVERLAP`, for clock skew); ``full=True`` asks
  for everything (and lets deletions show up).
- **Resumable**: the next page's cursor is saved after each stored page; a pull that failed (the
  job is retried) resumes from it. A resumed pull does not mark deletions, because it did not see
  the first pages; the next full pull does.
- **Transient failures** (429/5xx/timeouts as :class:`TransientError`) of one page are retried
  here a few times, honouring ``retry_after``; after that the error goes to the job runner.
- **One at a time**: a pull holds a lease on its connection (durable state, compare-and-set), so
  a second pull of the same connection meanwhile is refused as transient and retried later.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, Iterable

from sqlalchemy import delete as sa_delete
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from tenacity import retry, retry_if_exception_type, stop_after_attempt

from hub.connections import Connection
from hub.db.engine import session_scope
from hub.db.models import (
    Asset, Contact, HeldRecord, LaborStatus, Organisation, OrganisationMapping, Ticket,
    TicketCharge, UsageSnapshot,
)
from hub.documents import (
    AssetRecord, ContactRecord, OrganisationRecord, PullPage, Record, TicketRecord, UsageRecord,
)
from hub.errors import PluginError, TransientError

__all__ = ["KINDS", "KindReport", "PullReport", "pull_connection", "pull_by_name", "month_of"]

log = logging.getLogger("hub.pulls")

KINDS: tuple[str, ...] = ("organisations", "contacts", "assets", "tickets", "usage")
# Reports also carry "time_entries": the ticket charges made from the tickets' time entries.
#: Attempts per page before a TransientError is left to the job runner.
DEFAULT_PAGE_ATTEMPTS = 4
#: Longest Retry-After the pull waits for in-process; longer waits go back to the job runner.
DEFAULT_MAX_WAIT_SECONDS = 30.0
#: How long a pull holds its connection's lease; a worker that died mid-pull blocks the next
#: pull of that connection at most this long.
PULL_LEASE = dt.timedelta(minutes=30)
#: ``since`` reaches back this much before the last pull's start: the vendor's clock may run
#: behind ours, and seeing a change twice costs nothing (pulls are idempotent).
SINCE_OVERLAP = dt.timedelta(minutes=5)

_RECORD_TYPES: dict[str, type[Record]] = {
    "organisations": OrganisationRecord, "contacts": ContactRecord, "assets": AssetRecord,
    "tickets": TicketRecord, "usage": UsageRecord,
}
_MODELS: dict[str, Any] = {"contacts": Contact, "assets": Asset, "tickets": Ticket}


@dataclass
class KindReport:
    """What a pull did to one kind of record."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    unmapped: int = 0
    pages: int = 0
    full: bool = False

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


@dataclass
class PullReport:
    """The outcome of pulling one connection: counts per kind and what is not mapped."""

    connection: str
    kinds: dict[str, KindReport] = field(default_factory=dict)
    #: (external id, name at the source if known) of every company seen without an organisation.
    unmapped_organisations: list[tuple[str, str | None]] = field(default_factory=list)

    def _sum(self, name: str) -> int:
        return sum(getattr(report, name) for report in self.kinds.values())

    @property
    def created(self) -> int:
        return self._sum("created")

    @property
    def updated(self) -> int:
        return self._sum("updated")

    @property
    def unchanged(self) -> int:
        return self._sum("unchanged")

    @property
    def deleted(self) -> int:
        return self._sum("deleted")

    @property
    def unmapped(self) -> int:
        return self._sum("unmapped")

    @property
    def changed(self) -> bool:
        """True when the pull wrote anything."""
        return bool(self.created or self.updated or self.deleted)

    def summary(self) -> str:
        """One line for logs and the CLI."""
        return (f"{self.connection}: {self.created} created, {self.updated} updated, "
                f"{self.unchanged} unchanged, {self.deleted} deleted, {self.unmapped} unmapped")


def month_of(day: dt.date) -> tuple[dt.date, dt.date]:
    """The calendar month containing ``day``, as (first day, last day)."""
    first = day.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return first, following - dt.timedelta(days=1)


# ----------------------------------------------------------------------------- comparisons
def _utc(value: dt.datetime | None) -> dt.datetime | None:
    # SQLite hands back naive datetimes for timezone-aware columns; they were stored as UTC.
    if value is None:
        return None
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else \
        value.astimezone(dt.timezone.utc)


def _json(value: Any) -> Any:
    return json.loads(json.dumps(dict(value or {}), default=str, sort_keys=True))


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, dt.datetime) or isinstance(new, dt.datetime):
        return _utc(old) == _utc(new)
    if isinstance(old, Decimal) or isinstance(new, Decimal):
        return old is not None and new is not None and Decimal(old) == Decimal(new)
    return old == new


def _apply(row: Any, values: dict[str, Any]) -> bool:
    """Set the differing fields; True when anything changed."""
    changed = False
    for key, value in values.items():
        if not _same(getattr(row, key), value):
            setattr(row, key, value)
            changed = True
    return changed


# ----------------------------------------------------------------------------- the service
class _Puller:
    """State of one pull of one connection (one instance per call of pull_connection)."""

    def __init__(self, engine: Engine, hook: Any, connection: Connection, *,
                 create_organisations: bool, sleep: Callable[[float], None],
                 page_attempts: int, max_wait: float) -> None:
        self.engine = engine
        self.hook = hook
        self.connection = connection
        self.create_organisations = create_organisations
        self.sleep = sleep
        self.page_attempts = page_attempts
        self.max_wait = max_wait
        self.report = PullReport(connection=connection.name)
        self.now = connection.now()
        self.mapping: dict[str, int | None] = {}
        #: kind -> external ids held in HeldRecord; empty until load_held (then exact)
        self.held: dict[str, set[str]] = {}
        self.currencies: dict[int, str] = {}
        self.unmapped_seen: set[str] = set()

    # -- mapping ------------------------------------------------------------------------------
    def load_mapping(self, session: Session) -> None:
        rows = session.exec(select(OrganisationMapping).where(
            OrganisationMapping.connection == self.connection.name)).all()
        self.mapping = {row.external_id: row.organisation_id for row in rows}

    def organisation_for(self, session: Session, external_id: str) -> int | None:
        """The hub organisation mapped to ``external_id``; records an unmapped mapping row."""
        if external_id not in self.mapping:
            session.add(OrganisationMapping(connection=self.connection.name,
                                            external_id=external_id, organisation_id=None))
            self.mapping[external_id] = None
        organisation_id = self.mapping[external_id]
        if organisation_id is None:
            self.report_unmapped(external_id, None)
        return organisation_id

    def report_unmapped(self, external_id: str, name: str | None) -> None:
        """List a company without an organisation once in the report (by the first name seen)."""
        if external_id not in self.unmapped_seen:
            self.unmapped_seen.add(external_id)
            self.report.unmapped_organisations.append((external_id, name))

    # -- paging -------------------------------------------------------------------------------
    def fetch(self, kind: str, since: dt.datetime | None, cursor: str | None,
              period: tuple[dt.date, dt.date]) -> PullPage | None:
        call = getattr(self.hook, f"hub_pull_{kind}")
        kwargs: dict[str, Any] = {"connection": self.connection, "cursor": cursor}
        if kind == "usage":
            kwargs.update(period_start=period[0], period_end=period[1])
        else:
            kwargs["since"] = since

        def wait(retry_state: Any) -> float:
            error = retry_state.outcome.exception()
            delay = error.retry_after if error.retry_after is not None else \
                min(2 ** retry_state.attempt_number, self.max_wait)
            if delay > self.max_wait:
                raise error  # a long pause is the job runner's business, not a sleeping worker's
            return delay

        @retry(retry=retry_if_exception_type(TransientError), wait=wait,
               stop=stop_after_attempt(self.page_attempts), reraise=True, sleep=self.sleep)
        def attempt() -> PullPage | None:
            return call(**kwargs)

        page = attempt()
        if page is not None and not isinstance(page, PullPage):
            raise PluginError(f"hub_pull_{kind} for {self.connection.name!r} returned "
                              f"{type(page).__name__}, not a PullPage",
                              hint="return hub.PullPage(records=..., cursor=..., complete=...)")
        return page

    def pull_kind(self, kind: str, *, full: bool, period: tuple[dt.date, dt.date]) -> None:
        state = self.connection.state
        since_key, resume_key = f"hub.pull.{kind}.since", f"hub.pull.{kind}.resume"
        resume = state.get(resume_key)
        if resume:
            cursor, since_text = resume.get("cursor"), resume.get("since")
            started_text = resume.get("started")
        else:
            cursor = None
            since_text = None if full else state.get(since_key)
            started_text = self.now.isoformat()
        since = dt.datetime.fromisoformat(since_text) - SINCE_OVERLAP if since_text else None
        # Records released from hold at the start of this pull are already counted here.
        report = self.report.kinds.get(kind, KindReport())
        seen: set[str] = set()
        all_full = not resume
        first = True
        while True:
            page = self.fetch(kind, since, cursor, period)
            if page is None:
                if first:
                    return  # this connection's plugin does not offer this kind
                raise PluginError(f"hub_pull_{kind} for {self.connection.name!r} stopped "
                                  f"answering at cursor {cursor!r}",
                                  hint="a pull hook must answer every page of its own pull")
            first = False
            report.pages += 1
            all_full = all_full and page.full
            for record in page.records:
                if not isinstance(record, _RECORD_TYPES[kind]):
                    raise PluginError(f"hub_pull_{kind} for {self.connection.name!r} returned a "
                                      f"{type(record).__name__}",
                                      hint=f"return {_RECORD_TYPES[kind].__name__} records")
            with session_scope(self.engine) as session:
                self.store(session, kind, page.records, report, seen, period)
            done = page.complete or page.cursor is None
            if not done:
                cursor = page.cursor
                state.set(resume_key, {"cursor": cursor, "since": since_text,
                                       "started": started_text})
            else:
                break
        report.full = all_full
        if all_full and kind != "organisations":
            with session_scope(self.engine) as session:
                self.mark_missing(session, kind, seen, report, period)
        state.set(since_key, started_text)
        state.set(resume_key, None)
        self.report.kinds[kind] = report

    # -- storing ------------------------------------------------------------------------------
    def store(self, session: Session, kind: str, records: Iterable[Record], report: KindReport,
              seen: set[str], period: tuple[dt.date, dt.date]) -> None:
        records = list(records)
        if kind == "organisations":
            rows = {row.external_id: row for row in session.exec(select(OrganisationMapping).where(
                OrganisationMapping.connection == self.connection.name,
                OrganisationMapping.external_id.in_([r.external_id for r in records]))).all()}
            for record in records:
                seen.add(record.external_id)
                self.store_organisation(session, record, rows.get(record.external_id),
                                        report)  # type: ignore[arg-type]
            return
        if kind == "usage":
            self.store_usage(session, records, report, seen, period)  # type: ignore[arg-type]
            return
        model = _MODELS[kind]
        ids = [r.external_id for r in records]
        existing = {row.external_id: row for row in session.exec(select(model).where(
            model.source == self.connection.name, model.external_id.in_(ids))).all()}
        tickets: list[tuple[Any, TicketRecord, str]] = []
        for record in records:
            seen.add(record.external_id)
            stored = self.store_fact(session, kind, record, existing.get(record.external_id),
                                     report)
            if stored is not None:
                tickets.append(stored)
        if tickets:
            self.store_tickets_time(session, tickets, report)

    def store_tickets_time(self, session: Session, tickets: list[tuple[Any, TicketRecord, str]],
                           report: KindReport) -> None:
        """Time entries of a page of tickets, with one query for all their charges."""
        session.flush()  # new tickets get their ids
        charges: dict[int, list[TicketCharge]] = {}
        for charge in session.exec(select(TicketCharge).where(
                TicketCharge.source == self.connection.name,
                TicketCharge.ticket_id.in_([row.id for row, _, _ in tickets]))).all():
            charges.setdefault(charge.ticket_id, []).append(charge)
        entries_report = self.report.kinds.setdefault("time_entries", KindReport(full=True))
        for row, record, outcome in tickets:
            if self.store_time_entries(session, row, record, entries_report,
                                       charges.get(row.id, [])):
                outcome = "updated" if outcome == "unchanged" else outcome
            report.add(outcome)

    def store_organisation(self, session: Session, record: OrganisationRecord,
                           row: OrganisationMapping | None, report: KindReport) -> None:
        if row is None:
            row = OrganisationMapping(connection=self.connection.name,
                                      external_id=record.external_id, external_name=record.name)
            session.add(row)
            outcome = "created"
        else:
            outcome = "updated" if _apply(row, {"external_name": record.name}) else "unchanged"
        if row.organisation_id is None and self.create_organisations and not record.deleted:
            organisation = Organisation(name=record.name, attributes=_json(record.attributes))
            session.add(organisation)
            session.flush()
            row.organisation_id = organisation.id
            outcome = "created" if outcome == "created" else "updated"
        self.mapping[record.external_id] = row.organisation_id
        report.add(outcome)
        if row.organisation_id is None and not record.deleted:
            report.unmapped += 1
            self.report_unmapped(record.external_id, record.name)

    def fact_values(self, kind: str, record: Any, organisation_id: int) -> dict[str, Any]:
        if kind == "contacts":
            return {"organisation_id": organisation_id, "name": record.name,
                    "email": record.email, "attributes": _json(record.attributes)}
        if kind == "assets":
            return {"organisation_id": organisation_id, "name": record.name,
                    "asset_type": record.asset_type, "policy": record.policy,
                    "status": record.status, "last_seen": record.last_seen,
                    "attributes": _json(record.attributes)}
        return {"organisation_id": organisation_id, "number": record.number,
                "subject": record.subject, "status": record.status}

    def store_fact(self, session: Session, kind: str, record: Any, row: Any,
                   report: KindReport) -> tuple[Any, TicketRecord, str] | None:
        """Store one contact, asset or ticket. A stored ticket is returned with its outcome, not
        yet counted: its time entries are stored for the whole page at once."""
        model = _MODELS[kind]
        if record.deleted:
            self.release_hold(session, kind, record.external_id)
            if row is not None and row.deleted_at_source is None:
                row.deleted_at_source = self.now
                report.add("deleted")
                if kind == "tickets":
                    self.drop_pending_charges(session, row.id, keep=())
            elif row is not None:
                report.add("unchanged")
            return None
        organisation_id = self.organisation_for(session, record.organisation_external_id)
        if organisation_id is None:
            self.hold(session, kind, record)
            report.unmapped += 1
            return None
        self.release_hold(session, kind, record.external_id)
        values = self.fact_values(kind, record, organisation_id)
        values["deleted_at_source"] = None
        if row is None:
            row = model(source=self.connection.name, external_id=record.external_id, **values)
            session.add(row)
            outcome = "created"
        else:
            outcome = "updated" if _apply(row, values) else "unchanged"
        if kind == "tickets":
            return row, record, outcome
        report.add(outcome)
        return None

    def store_time_entries(self, session: Session, ticket: Ticket, record: TicketRecord,
                           report: KindReport, charges: list[TicketCharge]) -> bool:
        """Billable time entries become ticket charges (Not Charged). Returns True on change.

        ``record.time_entries`` is the ticket's whole list, so a pending charge whose entry is
        gone (or no longer billable) is removed; charged or invoiced charges are never touched.
        ``charges`` are the ticket's stored charges from this source.
        """
        existing = {row.external_id: row for row in charges}
        with session.no_autoflush:  # one flush per page, not one per looked-up currency
            changed = self._store_entries(session, ticket, record, report, existing)
        gone = [row for row in charges if row.labor_status == LaborStatus.not_charged
                and row.external_id not in {e.external_id for e in record.time_entries
                                            if e.billable and not e.deleted}]
        for row in gone:
            session.delete(row)
            report.add("deleted")
        return bool(gone) or changed

    def _store_entries(self, session: Session, ticket: Ticket, record: TicketRecord,
                       report: KindReport, existing: dict[str | None, TicketCharge]) -> bool:
        changed = False
        for entry in record.time_entries:
            if entry.deleted or not entry.billable:
                continue
            row = existing.get(entry.external_id)
            if row is not None and row.labor_status != LaborStatus.not_charged:
                report.add("unchanged")
                continue  # already on an invoice: the hub's record is final
            currency = entry.rate.currency if entry.rate else self.currency(session, ticket)
            values = {
                "organisation_id": ticket.organisation_id,
                "description": entry.description or f"Ticket {ticket.number}: {ticket.subject}",
                "quantity": Decimal(entry.hours), "billable": True, "is_labor": True,
                "unit_price": entry.rate.amount if entry.rate else Decimal("0"),
                "currency": currency, "worked_at": entry.started,
            }
            if row is None:
                session.add(TicketCharge(ticket_id=ticket.id, source=self.connection.name,
                                         external_id=entry.external_id, **values))
                report.add("created")
                changed = True
            elif _apply(row, values):
                report.add("updated")
                changed = True
            else:
                report.add("unchanged")
        return changed

    def drop_pending_charges(self, session: Session, ticket_id: int | None,
                             keep: Iterable[str], report: KindReport | None = None) -> bool:
        """Remove the ticket's not-yet-charged charges except ``keep`` (a deleted ticket)."""
        keep = set(keep)
        rows = session.exec(select(TicketCharge).where(
            TicketCharge.source == self.connection.name, TicketCharge.ticket_id == ticket_id,
            TicketCharge.labor_status == LaborStatus.not_charged)).all()
        gone = [row for row in rows if row.external_id not in keep]
        report = report or self.report.kinds.setdefault("time_entries", KindReport(full=True))
        for row in gone:
            session.delete(row)
            report.add("deleted")
        return bool(gone)

    def currency(self, session: Session, ticket: Ticket) -> str:
        if ticket.organisation_id not in self.currencies:
            organisation = session.get(Organisation, ticket.organisation_id)
            self.currencies[ticket.organisation_id] = \
                organisation.currency if organisation else "USD"
        return self.currencies[ticket.organisation_id]

    def load_held(self, session: Session) -> None:
        """Which records are held now, per kind (so storing knows when to release one)."""
        self.held = {}
        for kind, external_id in session.exec(select(HeldRecord.kind, HeldRecord.external_id)
                                              .where(HeldRecord.connection ==
                                                     self.connection.name)).all():
            self.held.setdefault(kind, set()).add(external_id)
        for kind in _MODELS:
            self.held.setdefault(kind, set())

    def hold(self, session: Session, kind: str, record: Any) -> None:
        """Keep a contact/asset/ticket whose organisation is not mapped (see HeldRecord)."""
        self.held.setdefault(kind, set()).add(record.external_id)
        data = record.model_dump(mode="json")
        row = session.exec(select(HeldRecord).where(
            HeldRecord.connection == self.connection.name, HeldRecord.kind == kind,
            HeldRecord.external_id == record.external_id)).first()
        if row is None:
            session.add(HeldRecord(connection=self.connection.name, kind=kind,
                                   external_id=record.external_id,
                                   organisation_external_id=record.organisation_external_id,
                                   record=data))
        elif row.record != data:
            row.record = data
            row.organisation_external_id = record.organisation_external_id

    def release_hold(self, session: Session, kind: str, external_id: str) -> None:
        held = self.held.get(kind)
        if held is not None and external_id not in held:
            return  # nothing held for it: spare a DELETE per record on big pulls
        if held is not None:
            held.discard(external_id)
        session.execute(sa_delete(HeldRecord).where(
            HeldRecord.connection == self.connection.name, HeldRecord.kind == kind,
            HeldRecord.external_id == external_id))

    def release_mapped(self) -> None:
        """Store held records (and fill usage rows) whose organisation is now mapped."""
        with session_scope(self.engine) as session:
            self.load_mapping(session)
            held = session.exec(select(HeldRecord).where(
                HeldRecord.connection == self.connection.name)).all()
            ready = [h for h in held if self.mapping.get(h.organisation_external_id) is not None]
            for kind in ("contacts", "assets", "tickets"):
                records = [_RECORD_TYPES[kind].model_validate(h.record)
                           for h in ready if h.kind == kind]
                if records:
                    report = self.report.kinds.setdefault(kind, KindReport())
                    self.store(session, kind, records, report, set(), month_of(self.now.date()))
            unassigned = session.exec(select(UsageSnapshot).where(
                UsageSnapshot.source == self.connection.name,
                UsageSnapshot.organisation_id.is_(None))).all()  # type: ignore[union-attr]
            for row in unassigned:
                organisation_id = self.mapping.get(row.tenant_external_id)
                if organisation_id is not None:
                    row.organisation_id = organisation_id
                    self.report.kinds.setdefault("usage", KindReport()).add("updated")

    def store_usage(self, session: Session, records: list[UsageRecord], report: KindReport,
                    seen: set[str], period: tuple[dt.date, dt.date]) -> None:
        ids = [r.external_id for r in records]
        existing = {(row.external_id, row.period_start): row for row in session.exec(
            select(UsageSnapshot).where(UsageSnapshot.source == self.connection.name,
                                        UsageSnapshot.external_id.in_(ids))).all()}
        for record in records:
            start = record.period_start or period[0]
            end = record.period_end or period[1]
            seen.add(f"{record.external_id}@{start.isoformat()}")
            row = existing.get((record.external_id, start))
            if record.deleted:
                if row is not None and row.deleted_at_source is None:
                    row.deleted_at_source = self.now
                    report.add("deleted")
                continue
            organisation_id = self.organisation_for(session, record.organisation_external_id)
            values = {
                "organisation_id": organisation_id,
                "tenant_external_id": record.organisation_external_id, "sku": record.sku,
                "description": record.description, "quantity": Decimal(record.quantity),
                "period_end": end,
                "unit_cost": record.unit_cost.amount if record.unit_cost else None,
                "currency": record.unit_cost.currency if record.unit_cost else None,
                "deleted_at_source": None,
            }
            if row is None:
                row = UsageSnapshot(source=self.connection.name, external_id=record.external_id,
                                    period_start=start, pulled_at=self.now, **values)
                session.add(row)
                existing[(record.external_id, start)] = row
                report.add("created")
            elif _apply(row, values):
                row.pulled_at = self.now
                report.add("updated")
            else:
                report.add("unchanged")
            if organisation_id is None:
                report.unmapped += 1

    def mark_missing(self, session: Session, kind: str, seen: set[str], report: KindReport,
                     period: tuple[dt.date, dt.date]) -> None:
        """A full pull saw everything: rows it did not see are gone at the source."""
        if kind == "usage":
            rows = session.exec(select(UsageSnapshot).where(
                UsageSnapshot.source == self.connection.name,
                UsageSnapshot.deleted_at_source.is_(None),  # type: ignore[union-attr]
                UsageSnapshot.period_start >= period[0],
                UsageSnapshot.period_start <= period[1])).all()
            for row in rows:
                if f"{row.external_id}@{row.period_start.isoformat()}" not in seen:
                    row.deleted_at_source = self.now
                    report.add("deleted")
            return
        model = _MODELS[kind]
        rows = session.exec(select(model).where(
            model.source == self.connection.name,
            model.deleted_at_source.is_(None))).all()
        for row in rows:
            if row.external_id not in seen:
                row.deleted_at_source = self.now
                report.add("deleted")
                if kind == "tickets":
                    self.drop_pending_charges(session, row.id, keep=())
        # A held record not seen in a full pull is gone too: stop holding it. (Filtered in
        # Python: ``seen`` can exceed the database's limit on bound parameters.)
        for held in session.exec(select(HeldRecord).where(
                HeldRecord.connection == self.connection.name, HeldRecord.kind == kind)).all():
            if held.external_id not in seen:
                session.delete(held)


def pull_connection(engine: Engine, hook: Any, connection: Connection, *,
                    kinds: Iterable[str] = KINDS, full: bool = False,
                    period: tuple[dt.date, dt.date] | None = None,
                    create_organisations: bool = False,
                    sleep: Callable[[float], None] = time.sleep,
                    page_attempts: int = DEFAULT_PAGE_ATTEMPTS,
                    max_wait: float = DEFAULT_MAX_WAIT_SECONDS) -> PullReport:
    """Pull ``connection`` through the plugin hooks and store what it finds.

    ``hook`` is the plugin host's ``hook`` relay (``PluginHost.hook``). ``kinds`` limits what is
    pulled; kinds the connection's plugin does not offer are skipped. ``period`` is the usage
    period (default: the month of the connection's clock). See the module docstring for the
    rules; the returned :class:`PullReport` counts what changed.
    """
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown kinds {sorted(unknown)}; use {list(KINDS)}")
    puller = _Puller(engine, hook, connection, create_organisations=create_organisations,
                     sleep=sleep, page_attempts=page_attempts, max_wait=max_wait)
    period = period or month_of(puller.now.date())
    lease = _take_lease(connection, puller.now)
    try:
        puller.release_mapped()
        for kind in KINDS:  # fixed order: organisations first, so mappings exist for the rest
            if kind in kinds:
                with session_scope(engine) as session:
                    puller.load_mapping(session)
                    puller.load_held(session)
                puller.pull_kind(kind, full=full, period=period)
    finally:
        connection.state.compare_and_set(_LEASE_KEY, lease, None)
    log.info("pull %s", puller.report.summary())
    return puller.report


_LEASE_KEY = "hub.pull.lease"


def _take_lease(connection: Connection, now: dt.datetime) -> dict[str, str]:
    """One pull per connection at a time (two would race on the same rows and cursors).

    The lease lives in the connection's durable state and is taken with compare-and-set, so two
    workers cannot both win; a busy connection is a TransientError, so the job retries later.
    """
    current = connection.state.get(_LEASE_KEY)
    if current and dt.datetime.fromisoformat(current["expires"]) > now:
        raise TransientError(f"a pull of {connection.name!r} is already running "
                             f"(since {current['taken']})", retry_after=60.0,
                             hint="wait for it to finish; a dead worker's lease expires "
                                  f"{current['expires']}")
    lease = {"taken": now.isoformat(), "expires": (now + PULL_LEASE).isoformat(),
             "token": uuid.uuid4().hex}
    if not connection.state.compare_and_set(_LEASE_KEY, current, lease):
        raise TransientError(f"a pull of {connection.name!r} has just started elsewhere",
                             retry_after=60.0, hint="the job retries it later")
    return lease


def pull_by_name(context: Any, name: str, **options: Any) -> PullReport:
    """Pull the configured connection ``name`` of a :class:`hub.app.HubContext`.

    What a scheduled pull job calls with the connection's name (jobs carry names, not objects).
    A :class:`TransientError` it raises is the job runner's cue to retry later; the retried pull
    resumes at the saved cursor.
    """
    return pull_connection(context.engine, context.plugins.hook, context.connection(name),
                           **options)
