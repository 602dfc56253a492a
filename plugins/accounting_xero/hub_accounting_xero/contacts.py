"""Organisations as Xero contacts: found by ContactNumber (``HUB-<organisation id>``) or
ContactID, created when missing, never duplicated.

An organisation whose ContactID the connection does not know is created straight away, and the
ContactID is remembered. Xero keeps ContactNumbers unique across all contacts, archived ones
included, and names unique across active ones, and refuses a create that would break either;
only the organisations Xero refused are then looked up by ContactNumber and adopted. So a
contact made earlier (a create whose answer was lost, a restored database, a second hub) is
found instead of duplicated, and a first push costs one call per bundle of contacts rather
than a look-up scan as well (issue #21: calls beyond ceil(N/50)).
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

    to_create = missing
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
        # Xero refused a number or a name it already has: adopt the contacts with our numbers
        # (made by an earlier create whose answer was lost, or by another worker); the others
        # keep Xero's reason
        adopt(sorted(contact_number(settings, org_id) for org_id in refused))
    return found, refused
