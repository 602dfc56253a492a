"""Storing pulled facts: organisations, contacts, assets, tickets with their time entries, and
usage snapshots, each upserted by ``(source, external_id)`` and written only when a field differs.

:class:`FactStoring` is one part of the pull runner (:mod:`hub.sources.pulling`); it reads the
runner's state (``self.connection``, ``self.report``, ``self.mapping``, ...).
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any, Iterable

from sqlmodel import Session, select

from hub.contract.records import (
    AssetRecord, ContactRecord, OrganisationRecord, Record, TicketRecord, UsageRecord,
)
from hub.db.models import (
    Asset, Contact, HeldRecord, LaborStatus, Organisation, OrganisationMapping, Ticket,
    TicketCharge, UsageSnapshot,
)
from hub.sources.matching import match_organisation
from hub.sources.reports import KindReport

__all__ = ["FactStoring", "RECORD_TYPES", "FACT_MODELS", "apply_changes", "plain_json"]

RECORD_TYPES: dict[str, type[Record]] = {
    "organisations": OrganisationRecord, "contacts": ContactRecord, "assets": AssetRecord,
    "tickets": TicketRecord, "usage": UsageRecord,
}
FACT_MODELS: dict[str, Any] = {"contacts": Contact, "assets": Asset, "tickets": Ticket}


def utc(value: dt.datetime | None) -> dt.datetime | None:
    """``value`` as an aware UTC datetime."""
    # SQLite hands back naive datetimes for timezone-aware columns; they were stored as UTC.
    if value is None:
        return None
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else \
        value.astimezone(dt.timezone.utc)


def plain_json(value: Any) -> Any:
    """``value`` as JSON-safe plain data with sorted keys, so stored attributes compare equal."""
    return json.loads(json.dumps(dict(value or {}), default=str, sort_keys=True))


def same_value(old: Any, new: Any) -> bool:
    """Whether a stored and a pulled value are the same (datetimes in UTC, decimals by value)."""
    if isinstance(old, dt.datetime) or isinstance(new, dt.datetime):
        return utc(old) == utc(new)
    if isinstance(old, Decimal) or isinstance(new, Decimal):
        return old is not None and new is not None and Decimal(old) == Decimal(new)
    return old == new


def apply_changes(row: Any, values: dict[str, Any]) -> bool:
    """Set the differing fields; True when anything changed."""
    changed = False
    for key, value in values.items():
        if not same_value(getattr(row, key), value):
            setattr(row, key, value)
            changed = True
    return changed


class FactStoring:
    """Upserts of pulled records (a part of the pull runner)."""

    def store_organisation(self, session: Session, record: OrganisationRecord,
                           row: OrganisationMapping | None, report: KindReport) -> None:
        if row is None:
            row = OrganisationMapping(connection=self.connection.name,
                                      external_id=record.external_id, external_name=record.name)
            session.add(row)
            outcome = "created"
        else:
            outcome = "updated" if apply_changes(row, {"external_name": record.name}) else "unchanged"
        if row.organisation_id is None and self.create_organisations and not record.deleted:
            # Match first (a second source sees the same customers), create only what is new.
            match = match_organisation(session, record, self.connection.name,
                                       self.connection_plugins)
            if match.organisation_id is not None:
                row.organisation_id = match.organisation_id
                self.report.matched_organisations.append(
                    (record.external_id, record.name, match.organisation_id, match.reason))
            elif match.suggested_id is not None:
                self.report.possible_matches.append(
                    (record.external_id, record.name, match.suggested_id, match.reason))
            else:
                organisation = Organisation(name=record.name,
                                            attributes=plain_json(record.attributes),
                                            currency=getattr(self, "currency", "USD"))
                session.add(organisation)
                session.flush()
                row.organisation_id = organisation.id
            if row.organisation_id is not None:
                outcome = "created" if outcome == "created" else "updated"
        self.mapping[record.external_id] = row.organisation_id
        report.add(outcome)
        if row.organisation_id is None and not record.deleted:
            report.unmapped += 1
            self.report_unmapped(record.external_id, record.name)

    def fact_values(self, kind: str, record: Any, organisation_id: int) -> dict[str, Any]:
        if kind == "contacts":
            return {"organisation_id": organisation_id, "name": record.name,
                    "email": record.email, "attributes": plain_json(record.attributes)}
        if kind == "assets":
            return {"organisation_id": organisation_id, "name": record.name,
                    "asset_type": record.asset_type, "policy": record.policy,
                    "status": record.status, "last_seen": record.last_seen,
                    "attributes": plain_json(record.attributes)}
        return {"organisation_id": organisation_id, "number": record.number,
                "subject": record.subject, "status": record.status}

    def store_fact(self, session: Session, kind: str, record: Any, row: Any,
                   report: KindReport) -> tuple[Any, TicketRecord, str] | None:
        """Store one contact, asset or ticket. A stored ticket is returned with its outcome, not
        yet counted: its time entries are stored for the whole page at once."""
        model = FACT_MODELS[kind]
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
            outcome = "updated" if apply_changes(row, values) else "unchanged"
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
            elif apply_changes(row, values):
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
            elif apply_changes(row, values):
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
        model = FACT_MODELS[kind]
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
