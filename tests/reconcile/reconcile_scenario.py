"""The seeded reconciliation scenario (loaded by path from conftest.py): one planted difference
of each kind, plus look-alikes that must NOT be reported (clean documents, failed charges, inquiries, recent time, retired
devices, users of a customer not billed per user).

Connections: ``books`` (fake accounting), ``cards`` (fake payment processor) and ``vendor``
(fake licence vendor counting live). One throwaway plugin answers for all three from lists the
test can change; it returns documents in a deliberately unsorted order.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

import hub.reconcile  # noqa: F401  (registers every table the sections read)
from hub.contract.connections import ConnectionType
from hub.core.money import Money
from hub.db.engine import session_scope
from hub.db.models import (
    Asset, Contact, ExternalLink, Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, JobRecord,
    LaborStatus, Organisation, OrganisationMapping, OutboxEntry, Product, RecurringInvoice,
    RecurringLine, Ticket, TicketCharge, UsageSnapshot,
)
from hub.db.models.ledger import CreditNote, Payment, PaymentStatus
from hub.contract.records import Counted, CountedItem, ExternalDocument
from hub.contract.hookspecs import hookimpl

TODAY = "2026-03-15T09:00:00+00:00"
FEB = (dt.date(2026, 2, 1), dt.date(2026, 2, 28))


class _NoSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _VendorSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    count_live: bool = True  # the stored counter steps aside: this plugin answers live


@dataclass
class FakeSystems:
    """The throwaway plugin: accounting, processor and vendor answers from plain lists."""

    documents: dict[str, list[ExternalDocument]] = field(default_factory=dict)
    usage: dict[tuple[int, str], str] = field(default_factory=dict)  # (org, sku) -> quantity
    calls: list[tuple[str, str]] = field(default_factory=list)

    @hookimpl
    def hub_register_connection_types(self, register):
        register(ConnectionType("fakebooks", _NoSettings, frozenset({"accounting"})))
        register(ConnectionType("fakecards", _NoSettings, frozenset({"payments"})))
        register(ConnectionType("fakevendor", _VendorSettings, frozenset({"usage"})))

    @hookimpl
    def hub_fetch_external_documents(self, connection, kind, since, until):
        if connection.plugin not in ("fakebooks", "fakecards"):
            return None
        self.calls.append((connection.name, kind))
        docs = [d for d in self.documents.get(connection.name, []) if d.kind == kind
                and (since is None or d.date is None or d.date >= since)
                and (until is None or d.date is None or d.date <= until)]
        return iter(sorted(docs, key=lambda d: d.external_id, reverse=True))  # unsorted on purpose

    @hookimpl
    def hub_fetch_vendor_usage(self, connection, query):
        if connection.plugin != "fakevendor":
            return None
        quantity = self.usage.get((query.organisation_id, query.filters.get("sku")))
        if quantity is None:
            return Counted(source=connection.name)
        return Counted(source=connection.name, items=(
            CountedItem(ref=f"vendor:sub:{query.organisation_id}:{query.filters['sku']}",
                        label=str(query.filters["sku"]), quantity=quantity),))


CONNECTIONS = [{"name": "books", "plugin": "fakebooks"},
               {"name": "cards", "plugin": "fakecards"},
               {"name": "vendor", "plugin": "fakevendor"}]


def _doc(kind, external_id, total, *, status="AUTHORISED", number=None, org_ref=None,
         date=dt.date(2026, 2, 1), lines=None, **attributes):
    if lines is not None:
        attributes["lines"] = lines
    return ExternalDocument(kind=kind, external_id=external_id, number=number,
                            organisation_ref=org_ref, date=date,
                            total=Money(total, "USD") if total is not None else None,
                            status=status, attributes=attributes)


def seed(engine) -> dict[str, int]:
    """The hub's side of the scenario; returns the ids the assertions name."""
    ids: dict[str, int] = {}
    D = Decimal
    with session_scope(engine) as s:
        acme = Organisation(name="Acme", currency="USD")
        globex = Organisation(name="Globex", currency="USD")
        s.add_all([acme, globex])
        s.flush()
        ids.update(acme=acme.id, globex=globex.id)
        s.add_all([
            OrganisationMapping(connection="books", external_id="C-ACME", organisation_id=acme.id),
            OrganisationMapping(connection="books", external_id="C-GLOBEX",
                                organisation_id=globex.id),
            OrganisationMapping(connection="cards", external_id="cus_A", organisation_id=acme.id),
            OrganisationMapping(connection="cards", external_id="cus_G",
                                organisation_id=globex.id),
            Product(code="M365-BP", name="Microsoft 365 Business Premium", unit_price=D("12")),
            Product(code="AV-PRO", name="Antivirus Pro", unit_price=D("3")),
        ])

        # recurring invoices and their counter lines
        r_acme = RecurringInvoice(organisation_id=acme.id, anchor_date=FEB[0],
                                  service_start=FEB[0], covered_from=dt.date(2026, 3, 1),
                                  next_run_date=dt.date(2026, 3, 1))
        r_globex = RecurringInvoice(organisation_id=globex.id, anchor_date=FEB[0],
                                    service_start=FEB[0], covered_from=dt.date(2026, 3, 1),
                                    next_run_date=dt.date(2026, 3, 1))
        s.add_all([r_acme, r_globex])
        s.flush()
        usage_line = RecurringLine(recurring_invoice_id=r_acme.id, line_type="vendor_usage",
                                   description="M365 Business Premium", unit_price=D("12"),
                                   counter_filters={"sku": "M365-BP"})
        devices = RecurringLine(recurring_invoice_id=r_acme.id, line_type="asset_counter",
                                description="Managed workstations", unit_price=D("50"),
                                counter_filters={"asset_type": ["workstation"]})
        users = RecurringLine(recurring_invoice_id=r_globex.id, line_type="user_counter",
                              description="Remote users", unit_price=D("10"),
                              counter_filters={"attributes.remote_access": True})
        s.add_all([usage_line, devices, users])
        s.flush()

        def invoice(key, org, number, total, *, status=InvoiceStatus.unpaid,
                    kind=InvoiceKind.one_time, period=None, paid=D("0")):
            inv = Invoice(organisation_id=org, number=number, status=status, kind=kind,
                          issue_date=dt.date(2026, 2, 1), due_date=dt.date(2026, 2, 15),
                          period_start=period[0] if period else None,
                          period_end=period[1] if period else None,
                          billing_key=f"schedule:{key}" if period else None,
                          subtotal=D(total), total=D(total), amount_paid=paid)
            s.add(inv)
            s.flush()
            ids[key] = inv.id
            return inv

        def link(kind, document_id, external_id, connection="books"):
            s.add(ExternalLink(document_kind=kind, document_id=document_id,
                               connection=connection, external_id=external_id))

        inv1 = invoice("inv1", acme.id, "INV-1", "516.00", status=InvoiceStatus.partially_paid,
                       kind=InvoiceKind.recurring, period=FEB, paid=D("100"))
        s.add(InvoiceLine(invoice_id=inv1.id, line_type="vendor_usage",
                          description="M365 Business Premium", quantity=D("43"),
                          unit_price=D("12"), amount=D("516"), period_start=FEB[0],
                          period_end=FEB[1], source_line_key=f"line:{usage_line.id}",
                          provenance=[{"ref": "vendor:sub:1:M365-BP", "label": "M365-BP",
                                       "quantity": "43", "source": "vendor"}]))
        link("invoice", inv1.id, "X-1")
        link("invoice", invoice("inv2", acme.id, "INV-2", "250.00").id, "X-2")
        inv3 = invoice("inv3", globex.id, "INV-3", "300.00", kind=InvoiceKind.recurring,
                       period=FEB)
        s.add_all([InvoiceLine(invoice_id=inv3.id, position=0, description="Support",
                               quantity=D("1"), unit_price=D("200"), amount=D("200")),
                   InvoiceLine(invoice_id=inv3.id, position=1, description="Backup",
                               quantity=D("2"), unit_price=D("50"), amount=D("100"))])
        link("invoice", inv3.id, "X-3")
        link("invoice", invoice("inv4", acme.id, "INV-4", "80.00").id, "X-4")
        inv5 = invoice("inv5", globex.id, "INV-5", "120.00")
        outbox = OutboxEntry(effect="push", document_kind="invoice", document_id=inv5.id,
                             connection="books", status="failed", attempts=1,
                             last_error="ValidationError: contact has no email")
        s.add(outbox)
        s.flush()
        job = JobRecord(actor="push_documents", args=[outbox.id], connection="books",
                        outbox_id=outbox.id, document_kind="invoice", document_id=inv5.id,
                        attempts=1, reason="ValidationError: contact has no email")
        s.add(job)
        s.flush()
        ids["job5"] = job.id
        # look-alikes that must stay silent: a draft and a deleted invoice never pushed
        s.add(Invoice(organisation_id=acme.id, status=InvoiceStatus.draft,
                      issue_date=dt.date(2026, 2, 1), due_date=dt.date(2026, 2, 15),
                      total=D("999")))
        invoice("deleted", acme.id, "INV-DEL", "77.00", status=InvoiceStatus.deleted)

        cn = CreditNote(organisation_id=acme.id, number="CN-1", date=dt.date(2026, 2, 3),
                        total=D("20"), subtotal=D("20"))
        s.add(cn)
        s.flush()
        link("credit_note", cn.id, "XC-1")

        def payment(key, org, amount, object_id, *, accounting_id=None, invoice_id=None):
            p = Payment(organisation_id=org, amount=D(amount), date=dt.date(2026, 2, 5),
                        method="card", status=PaymentStatus.succeeded, invoice_id=invoice_id,
                        processor="cards", processor_object_id=object_id,
                        reference=object_id)
            s.add(p)
            s.flush()
            ids[key] = p.id
            if accounting_id:
                link("payment", p.id, accounting_id)

        # the ledger keys card payments by payment intent, as the Stripe plugin reports them
        payment("p1", acme.id, "100.00", "pi_1", accounting_id="XP-1", invoice_id=inv1.id)
        payment("p2", acme.id, "60.00", "pi_2", accounting_id="XP-3")
        payment("p3", globex.id, "25.00", "pi_ghost", accounting_id="XP-4")

        # usage: vendor snapshots (Globex's AV-PRO is billed by no line)
        s.add_all([
            UsageSnapshot(organisation_id=acme.id, source="vendor", external_id="sub-1",
                          tenant_external_id="T-ACME", sku="M365-BP", quantity=D("45"),
                          period_start=FEB[0], period_end=FEB[1]),
            UsageSnapshot(organisation_id=globex.id, source="vendor", external_id="sub-2",
                          tenant_external_id="T-GLOBEX", sku="AV-PRO", quantity=D("10"),
                          period_start=FEB[0], period_end=FEB[1]),
            # a period nobody has been invoiced for yet: not a leak (yet)
            UsageSnapshot(organisation_id=globex.id, source="vendor", external_id="sub-2",
                          tenant_external_id="T-GLOBEX", sku="AV-PRO", quantity=D("10"),
                          period_start=dt.date(2026, 3, 1), period_end=dt.date(2026, 3, 31)),
        ])

        # time: one stale charge; recent, invoiced and non-billable ones stay silent
        ticket = Ticket(organisation_id=acme.id, number="T-100", subject="Server down")
        s.add(ticket)
        s.flush()
        utc = dt.timezone.utc
        s.add_all([
            TicketCharge(ticket_id=ticket.id, organisation_id=acme.id, description="Restore",
                         quantity=D("2.5"), unit_price=D("80"),
                         worked_at=dt.datetime(2026, 1, 10, 14, tzinfo=utc)),
            TicketCharge(ticket_id=ticket.id, organisation_id=acme.id, description="Recent",
                         quantity=D("1"), unit_price=D("80"),
                         worked_at=dt.datetime(2026, 3, 10, 14, tzinfo=utc)),
            TicketCharge(ticket_id=ticket.id, organisation_id=acme.id, description="Done",
                         quantity=D("1"), unit_price=D("80"), labor_status=LaborStatus.invoiced,
                         worked_at=dt.datetime(2026, 1, 5, 14, tzinfo=utc)),
            TicketCharge(ticket_id=ticket.id, organisation_id=acme.id, description="Goodwill",
                         quantity=D("1"), unit_price=D("80"), billable=False,
                         worked_at=dt.datetime(2026, 1, 5, 14, tzinfo=utc)),
        ])

        # assets and users
        s.add_all([
            Asset(organisation_id=acme.id, name="WS-1", asset_type="workstation"),
            Asset(organisation_id=acme.id, name="SRV-1", asset_type="server"),
            Asset(organisation_id=acme.id, name="WS-OLD", asset_type="workstation",
                  status="retired"),
            Contact(organisation_id=globex.id, name="Alice", attributes={"remote_access": True}),
            Contact(organisation_id=globex.id, name="Bob", attributes={"remote_access": False}),
            Contact(organisation_id=acme.id, name="Carol", attributes={}),
        ])
    return ids


def external_documents() -> dict[str, list[ExternalDocument]]:
    """The other systems' side, with the planted differences."""
    return {
        "books": [
            _doc("invoice", "X-1", "516.00", number="INV-1", org_ref="C-ACME"),
            _doc("invoice", "X-2", "240.00", number="INV-2", org_ref="C-ACME"),      # total
            _doc("invoice", "X-3", "300.00", number="INV-3", org_ref="C-GLOBEX",      # lines
                 lines=[{"description": "Support", "quantity": "1", "amount": "150.00"},
                        {"description": "Backup", "quantity": "2", "amount": "150.00"}]),
            _doc("invoice", "X-4", "80.00", number="INV-4", org_ref="C-ACME",
                 status="VOIDED"),                                                    # status
            _doc("invoice", "X-99", "45.00", number="MANUAL-7", org_ref="C-GLOBEX"),  # extra
            _doc("credit_note", "XC-1", "20.00", number="CN-1", org_ref="C-ACME"),
            _doc("payment", "XP-1", "100.00", org_ref="C-ACME"),
            _doc("payment", "XP-2", "30.00", org_ref="C-ACME"),        # only in accounting
            _doc("payment", "XP-3", "60.00", org_ref="C-ACME"),
            _doc("payment", "XP-4", "25.00", org_ref="C-GLOBEX"),
        ],
        "cards": [
            _doc("charge", "ch_1", "100.00", status="succeeded", org_ref="cus_A",
                 payment_intent="pi_1"),
            _doc("charge", "ch_1a", "100.00", status="failed", org_ref="cus_A",
                 payment_intent="pi_1"),                  # a declined attempt of the same intent
            _doc("charge", "ch_2", "50.00", status="succeeded", org_ref="cus_A",
                 payment_intent="pi_2"),                                             # amount
            _doc("charge", "ch_3", "70.00", status="succeeded", org_ref="cus_G",
                 payment_intent="pi_3"),                                             # missing
            _doc("charge", "ch_4", "99.00", status="failed", org_ref="cus_G",
                 payment_intent="pi_4"),                                             # silent
            # refunds and disputes name no customer, as Stripe's do: found through pi_1
            _doc("refund", "re_1", "15.00", status="succeeded", charge="ch_1",
                 payment_intent="pi_1"),                                             # missing
            _doc("dispute", "dp_1", "40.00", status="needs_response", charge="ch_1",
                 payment_intent="pi_1"),                                             # missing
            _doc("dispute", "dp_2", "10.00", status="warning_needs_response",
                 org_ref="cus_G"),                                                   # silent
        ],
    }


#: (section, kind) -> money at stake of the one planted difference of that kind.
EXPECTED = {
    ("accounting", "total_differs"): Decimal("10.00"),
    ("accounting", "lines_differ"): Decimal("0.00"),
    ("accounting", "status_differs"): Decimal("80.00"),
    ("accounting", "missing_in_accounting"): Decimal("120.00"),
    ("accounting", "extra_in_accounting"): Decimal("45.00"),
    ("accounting", "payment_only_in_accounting"): Decimal("30.00"),
    ("payments", "amount_differs"): Decimal("10.00"),
    ("payments", "charge_missing_in_ledger"): Decimal("70.00"),
    ("payments", "refund_missing_in_ledger"): Decimal("15.00"),
    ("payments", "dispute_missing_in_ledger"): Decimal("40.00"),
    ("payments", "no_processor_record"): Decimal("25.00"),
    ("usage", "usage_differs"): Decimal("24.00"),
    ("usage", "usage_not_billed"): Decimal("30.00"),
    ("time", "time_not_invoiced"): Decimal("200.00"),
    ("assets", "device_not_counted"): Decimal("50.00"),
    ("assets", "user_not_counted"): Decimal("10.00"),
}
