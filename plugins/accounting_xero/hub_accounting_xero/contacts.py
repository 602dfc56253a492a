"""Organisations as Xero contacts: found by ContactNumber (``HUB-<organisation id>``) or
ContactID, created when missing, never duplicated.

A contact is created only after a look-up by ContactNumber found nothing, and the ContactID is
remembered; so even when a create's answer is lost, the next run finds the contact instead of
creating it twice.
"""

from __future__ import annotations

from typing import Iterable

from hub_accounting_xero.client import XeroClient
from hub_accounting_xero.mapping import contact_element, contact_number, idempotency_key
from hub_accounting_xero.store import Ledger

__all__ = ["ensure_contacts", "LOOKUP_CHUNK", "CREATE_BATCH_FACTOR"]

#: ContactNumbers per look-up request (keeps the where clause and URL short)
LOOKUP_CHUNK = 40
#: Contacts per create request, as a multiple of the document ``batch_size``. Xero's bundles of
#: 50 are advice for documents with lines; a contact element is a name and a number (~150
#: bytes, far under the 3.5 MB request limit), and Xero itself pages contacts by 100. A first
#: push for 100 customers thus costs one create call, not two (issue #21: calls beyond
#: ceil(N/50)); a smaller ``batch_size`` still makes smaller contact bundles.
CREATE_BATCH_FACTOR = 2
#: contacts per page when scanning by prefix
SCAN_PAGE = 1000


def _where(numbers: Iterable[str]) -> str:
    return " OR ".join(f'ContactNumber=="{n}"' for n in numbers)


def _lookup(client: XeroClient, numbers: list[str]) -> Iterable[dict]:
    """Contacts with these ContactNumbers. A few are asked for by number; many (a first push)
    by one scan of every contact whose number has the hub's prefix, pages of 1,000, which
    costs one call where asking by number would cost one per 40."""
    if len(numbers) <= LOOKUP_CHUNK:
        if numbers:
            yield from client.get("/Contacts", params={"where": _where(numbers)}).get("Contacts", [])
        return
    prefix = client.settings.contact_number_prefix
    page = 1
    while True:
        answer = client.get("/Contacts", params={
            "where": f'ContactNumber.StartsWith("{prefix}")', "page": str(page),
            "pageSize": str(SCAN_PAGE), "summaryOnly": "true"})
        contacts = answer.get("Contacts", [])
        yield from contacts
        if len(contacts) < SCAN_PAGE:
            return
        page += 1


def ensure_contacts(client: XeroClient, organisations: dict[int, tuple[str, str | None]]
                    ) -> tuple[dict[int, str], dict[int, str]]:
    """ContactIDs for ``{organisation id: (name, known contact id or None)}``.

    Returns ``(found, refused)``: organisation id -> ContactID, and organisation id -> Xero's
    reason for refusing to create its contact. Transient failures propagate.
    """
    settings = client.settings
    ledger = Ledger(client.connection)
    found: dict[int, str] = {}
    refused: dict[int, str] = {}
    missing: list[int] = []
    for org_id, (_, ref) in organisations.items():
        known = ref or ledger.contact_id(org_id)
        if known:
            found[org_id] = known
        else:
            missing.append(org_id)
    by_number = {contact_number(settings, org_id): org_id for org_id in missing}

    def adopt(numbers: list[str]) -> None:
        for contact in _lookup(client, numbers):
            org_id = by_number.get(contact.get("ContactNumber", ""))
            if org_id is not None and contact.get("ContactStatus", "ACTIVE") != "ARCHIVED":
                found[org_id] = contact["ContactID"]
                refused.pop(org_id, None)
                ledger.set_contact(org_id, contact["ContactID"])

    adopt(sorted(by_number))
    to_create = [org_id for org_id in missing if org_id not in found]
    batch = CREATE_BATCH_FACTOR * settings.batch_size
    for start in range(0, len(to_create), batch):
        chunk = to_create[start:start + batch]
        body = {"Contacts": [contact_element(settings, org_id, organisations[org_id][0])
                             for org_id in chunk]}
        key = idempotency_key("contacts", [contact_number(settings, o) for o in chunk], 1)
        answer = client.write("PUT", "/Contacts", body, key, params={"summarizeErrors": "false"})
        for org_id, contact in zip(chunk, answer.get("Contacts", [])):
            if contact.get("ValidationErrors"):
                message = "; ".join(v.get("Message", "") for v in contact["ValidationErrors"])
                refused[org_id] = (f"{message} (set Contact Number "
                                   f"{contact_number(settings, org_id)} on the existing Xero "
                                   "contact, or give the organisation its ContactID)")
                continue
            found[org_id] = contact["ContactID"]
            ledger.set_contact(org_id, contact["ContactID"])
    if refused:
        # another worker may have created the same contact between our look-up and create
        adopt(sorted(contact_number(settings, org_id) for org_id in refused))
    return found, refused
