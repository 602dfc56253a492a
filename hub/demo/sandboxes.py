"""Every vendor sandbox the demo needs, on 127.0.0.1, seeded with the sample MSP.

NinjaOne (devices), Autotask (companies, contacts, tickets, time), Pax8 (licences), Xero or
QuickBooks Online (accounting, ``ACCOUNTING``) and Stripe (cards; it POSTs signed webhooks to
the hub). The accounting and Stripe sandboxes check requests against the vendors' own specs,
which their plugins ship; if an environment variable points them at a file that is not there,
the demo runs them without checking (one warning line).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from hub.demo.sample import Sample
from hub.testing.sandbox import SandboxServer

__all__ = ["Sandboxes", "running", "specs_available", "ACCOUNTING"]

#: accounting system -> (connection type and name, what the demo calls it)
ACCOUNTING = {"xero": "Xero", "quickbooks": "QuickBooks Online"}

_STAMPS = ("2026-01-01T09:00:00.000000Z", "2026-02-01T09:00:00.000000Z",
           "2026-03-01T09:00:00.000000Z")


def specs_available() -> bool:
    """Whether the Xero, QuickBooks and Stripe specs in use exist (the packaged copies do,
    unless ``HUB_XERO_SPEC``, ``HUB_QUICKBOOKS_XSD_DIR`` or ``HUB_STRIPE_SPEC`` point elsewhere)."""
    from hub_accounting_quickbooks.sandbox.schema import xsd_path
    from hub_accounting_xero.sandbox.schema import spec_path
    from hub_payments_stripe.sandbox.spec import default_spec_path

    return spec_path().exists() and default_spec_path().exists() and xsd_path().exists()


def _device(make_device: Callable[..., dict[str, Any]], device_id: int, org_id: int,
            org_name: str, node_class: str, name: str) -> dict[str, Any]:
    index = next(i for i in range(64) if make_device(0, 0, i)["nodeClass"] == node_class)
    device = make_device(device_id, org_id, index)
    device.update(approvalStatus="APPROVED", offline=False, displayName=name,
                  systemName=name.lower())
    device["references"]["organization"]["name"] = org_name
    return device


@dataclass
class Sandboxes:
    """The seeded sandboxes' worlds and base URLs; :meth:`set_month` moves the world on."""

    sample: Sample
    ninja: Any
    autotask: Any
    pax8: Any
    books: Any
    stripe: Any
    accounting: str = "xero"
    urls: dict[str, str] = field(default_factory=dict)

    @classmethod
    def seeded(cls, sample: Sample, *, validate: bool, accounting: str = "xero") -> "Sandboxes":
        from hub_autotask.sandbox import AutotaskData
        from hub_ninjaone.sandbox import NinjaOneData
        from hub_payments_stripe.sandbox import StripeSandbox
        from hub_vendor_usage.sandbox import Pax8Data, uuid_for

        ninja, autotask, pax8 = NinjaOneData(), AutotaskData(), Pax8Data()
        for org in sample.organisations:
            ninja.organizations[org.ninja_id] = {
                "id": org.ninja_id, "name": org.name, "description": "sample customer",
                "nodeApprovalMode": "AUTOMATIC"}
            autotask.companies[org.autotask_id] = {
                "id": org.autotask_id, "companyName": org.name, "companyType": 1,
                "isActive": True, "lastActivityDate": _STAMPS[0]}
            for person in org.people:
                autotask.contacts[person.autotask_id] = {
                    "id": person.autotask_id, "companyID": org.autotask_id,
                    "firstName": person.first_name, "lastName": person.last_name,
                    "emailAddress": person.email, "isActive": 1,
                    "lastModifiedDate": _STAMPS[0], "userDefinedFields": []}
            for ticket_id, title in org.tickets:
                autotask.tickets[ticket_id] = {
                    "id": ticket_id, "companyID": org.autotask_id,
                    "ticketNumber": f"T{ticket_id}", "title": title, "status": 5,
                    "lastActivityDate": _STAMPS[0]}
            for entry in org.time:
                autotask.time_entries[entry.autotask_id] = {
                    "id": entry.autotask_id, "ticketID": entry.ticket_id,
                    "resourceID": 29682885, "dateWorked": f"{entry.day.isoformat()}T00:00:00Z",
                    "startDateTime": f"{entry.day.isoformat()}T09:00:00Z",
                    "hoursWorked": float(entry.hours), "hoursToBill": float(entry.hours),
                    "isNonBillable": not entry.billable,
                    "summaryNotes": f"work on ticket {entry.ticket_id}",
                    "lastModifiedDateTime": _STAMPS[0]}
            company = uuid_for(1, org.number)
            pax8.companies[company] = {
                "id": company, "name": org.name, "externalId": f"C{org.number:04d}",
                "status": "Active", "billOnBehalfOfEnabled": True, "selfServiceAllowed": False,
                "orderApprovalRequired": False, "updatedDate": "2026-01-01T00:00:00Z"}
        sandboxes = cls(sample, ninja, autotask, pax8, _accounting_sandbox(accounting, validate),
                        StripeSandbox(validate=validate), accounting)
        sandboxes.set_month(0)
        return sandboxes

    @property
    def xero(self) -> Any:
        """The Xero sandbox (when the demo runs against Xero)."""
        return self.books

    def set_month(self, month: int) -> None:
        """Make the sources hold what they hold in sample month ``month`` (0 or 1)."""
        from hub_ninjaone.sandbox import make_device
        from hub_vendor_usage.sandbox import uuid_for

        stamp = _STAMPS[month]
        products = self.pax8.product_ids()
        with self.ninja.lock, self.autotask.lock, self.pax8.lock:
            for org in self.sample.organisations:
                for device in org.devices:
                    if month in device.months:
                        self.ninja.devices.setdefault(device.ninja_id, _device(
                            make_device, device.ninja_id, org.ninja_id, org.name,
                            device.node_class, device.name))
                    else:
                        self.ninja.devices.pop(device.ninja_id, None)
                for person in org.people:
                    contact = self.autotask.contacts[person.autotask_id]
                    value = "Yes" if person.remote_access[month] else "No"
                    fields = [{"name": "Remote Access", "value": value}]
                    if contact["userDefinedFields"] != fields:
                        contact.update(userDefinedFields=fields, lastModifiedDate=stamp)
                for licence in org.licences:
                    self._licence(org.number, licence.number, products[licence.sku],
                                  licence.quantity[month], uuid_for)

    def after_billing(self) -> None:
        """Pax8's counts move after the month was billed (the planted true-up)."""
        from hub_vendor_usage.sandbox import uuid_for

        products = self.pax8.product_ids()
        with self.pax8.lock:
            for org in self.sample.organisations:
                for licence in org.licences:
                    self._licence(org.number, licence.number, products[licence.sku],
                                  licence.after, uuid_for)

    def _licence(self, org_number: int, number: int, product_id: str, quantity: int,
                 uuid_for: Callable[[int, int], str]) -> None:
        from hub_vendor_usage.sandbox import PRODUCTS

        sub_id = uuid_for(3, number)
        names = {uuid_for(2, i + 1): (name, cost) for i, (_, name, cost) in enumerate(PRODUCTS)}
        name, cost = names[product_id]
        self.pax8.subscriptions[sub_id] = {
            "id": sub_id, "companyId": uuid_for(1, org_number), "productId": product_id,
            "quantity": quantity, "startDate": "2026-01-01T00:00:00Z",
            "createdDate": "2025-12-20T00:00:00Z", "billingStart": "2026-01-01",
            "status": "Active", "price": float(cost) * 1.2, "partnerCost": float(cost),
            "currencyCode": "USD", "productName": name, "billingTerm": "Monthly"}


def _accounting_sandbox(accounting: str, validate: bool) -> Any:
    # Xero allows 60 calls a minute and QuickBooks 40 batches; the hub honours that (it waits),
    # but a demo should not sit through it, so these sandboxes allow more.
    if accounting == "quickbooks":
        from hub_accounting_quickbooks.sandbox import Limits, QuickBooksSandbox

        return QuickBooksSandbox(validate=validate, limits=Limits(
            per_minute=100_000, per_second=10_000, batch_per_minute=10_000))
    from hub_accounting_xero.sandbox import Limits, XeroSandbox

    return XeroSandbox(validate=validate, limits=Limits(per_minute=10_000))


@contextlib.contextmanager
def running(sample: Sample, *, validate: bool, accounting: str = "xero") -> Iterator[Sandboxes]:
    """Start every sandbox seeded with ``sample``; stop them all on exit."""
    from hub_autotask.sandbox import create_app as autotask_app
    from hub_ninjaone.sandbox import create_app as ninja_app
    from hub_payments_stripe.sandbox import create_app as stripe_app
    from hub_vendor_usage.sandbox import create_app as pax8_app

    sandboxes = Sandboxes.seeded(sample, validate=validate, accounting=accounting)
    books = sandboxes.books if accounting == "quickbooks" else sandboxes.books.app
    apps = {"ninjaone": ninja_app(sandboxes.ninja), "autotask": autotask_app(sandboxes.autotask),
            "pax8": pax8_app(sandboxes.pax8), accounting: books,
            "stripe": stripe_app(sandboxes.stripe)}
    with contextlib.ExitStack() as stack:
        for name, app in apps.items():
            sandboxes.urls[name] = stack.enter_context(SandboxServer(app)).url
        yield sandboxes


def today() -> dt.date:
    """Today's date (UTC): the billing month is the current month."""
    return dt.datetime.now(dt.timezone.utc).date()
