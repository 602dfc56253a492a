"""Autotask JSON → the hub's records. Pure functions, no I/O.

Companies are organisations; contacts carry ``active`` and the user-defined fields named in
``contact_udf_attributes`` (``"Yes"``/``"No"`` become booleans) for user counters. Ticket status
numbers become labels through ``ticket_statuses``. A time entry's hours are ``hoursToBill`` when
set, else ``hoursWorked``; ``isNonBillable`` entries stay non-billable (no ticket charge).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Iterable, Mapping

from hub import ContactRecord, Money, OrganisationRecord, TicketRecord, TimeEntryRecord

from hub_autotask.settings import AutotaskSettings

__all__ = ["organisation_record", "contact_record", "ticket_record", "time_entry_record"]

_TRUE = {"yes", "true", "1", "y"}
_FALSE = {"no", "false", "0", "n", ""}


def _time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def _udf_value(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in _TRUE:
        return True
    if value is None or (isinstance(value, str) and value.strip().lower() in _FALSE):
        return False
    return value


def organisation_record(company: Mapping[str, Any]) -> OrganisationRecord:
    """A company from ``Companies/query``."""
    return OrganisationRecord(external_id=str(company["id"]),
                              name=company.get("companyName") or "",
                              attributes={"active": bool(company.get("isActive", True)),
                                          "company_type": company.get("companyType")})


def contact_record(contact: Mapping[str, Any], settings: AutotaskSettings) -> ContactRecord:
    """A contact from ``Contacts/query``."""
    udfs = {u.get("name"): u.get("value") for u in contact.get("userDefinedFields") or []}
    attributes: dict[str, Any] = {"active": bool(contact.get("isActive", 1))}
    for attribute, udf in settings.contact_udf_attributes.items():
        attributes[attribute] = _udf_value(udfs.get(udf))
    name = " ".join(p for p in (contact.get("firstName"), contact.get("lastName")) if p)
    return ContactRecord(external_id=str(contact["id"]),
                         organisation_external_id=str(contact["companyID"]),
                         name=name or contact.get("emailAddress") or f"contact {contact['id']}",
                         email=contact.get("emailAddress"), attributes=attributes)


def time_entry_record(entry: Mapping[str, Any], settings: AutotaskSettings) -> TimeEntryRecord:
    """A time entry from ``TimeEntries/query``."""
    hours = entry.get("hoursToBill")
    if hours is None:
        hours = entry.get("hoursWorked") or 0
    started = _time(entry.get("startDateTime")) or _time(entry.get("dateWorked"))
    rate = Money(settings.hourly_rate, settings.currency) if settings.hourly_rate is not None \
        else None
    return TimeEntryRecord(external_id=str(entry["id"]), ticket_external_id=str(entry["ticketID"]),
                           started=started or dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc),
                           hours=str(hours), billable=not entry.get("isNonBillable", False),
                           description=entry.get("summaryNotes") or "", rate=rate)


def ticket_record(ticket: Mapping[str, Any], entries: Iterable[Mapping[str, Any]],
                  settings: AutotaskSettings) -> TicketRecord:
    """A ticket from ``Tickets/query`` with all of its time entries."""
    status = settings.ticket_statuses.get(str(ticket.get("status")), str(ticket.get("status")))
    return TicketRecord(external_id=str(ticket["id"]),
                        organisation_external_id=str(ticket["companyID"]),
                        number=ticket.get("ticketNumber") or str(ticket["id"]),
                        subject=ticket.get("title") or "", status=status,
                        time_entries=tuple(time_entry_record(e, settings) for e in entries))
