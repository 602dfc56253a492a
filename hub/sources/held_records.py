"""Mappings and held records: a company seen at a source is resolved to a hub organisation only
through :class:`~hub.db.models.OrganisationMapping`; the contacts, assets and tickets of an
unmapped company are held (:class:`~hub.db.models.HeldRecord`) until its mapping exists.

:class:`HeldRecords` is one part of the pull runner (:mod:`hub.sources.pulling`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete as sa_delete
from sqlmodel import Session, select

from hub.db.engine import session_scope
from hub.db.models import HeldRecord, OrganisationMapping, UsageSnapshot
from hub.sources.reports import KindReport, month_of
from hub.sources.storing import FACT_MODELS, RECORD_TYPES

__all__ = ["HeldRecords"]


class HeldRecords:
    """Organisation mapping and held records (a part of the pull runner)."""

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

    def load_held(self, session: Session) -> None:
        """Which records are held now, per kind (so storing knows when to release one)."""
        self.held = {}
        for kind, external_id in session.exec(select(HeldRecord.kind, HeldRecord.external_id)
                                              .where(HeldRecord.connection ==
                                                     self.connection.name)).all():
            self.held.setdefault(kind, set()).add(external_id)
        for kind in FACT_MODELS:
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
                records = [RECORD_TYPES[kind].model_validate(h.record)
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
