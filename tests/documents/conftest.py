"""Fixtures of the customer-document tests: a temporary database, settings, rows built with
the real models (priced by the billing core), a local SMTP server and PDF text extraction."""

from __future__ import annotations

import datetime as dt
import io
import socket
from types import SimpleNamespace
from dataclasses import dataclass, field
from decimal import Decimal
from email import message_from_bytes, policy
from email.message import EmailMessage
from fractions import Fraction
from typing import Any

import pytest
from pypdf import PdfReader

from hub.core.lines import price_line
from hub.core.money import Money
from hub.db.engine import make_engine, session_scope
from hub.db.models import Invoice, InvoiceLine, Organisation, metadata


def pdf_text(data: bytes) -> str:
    """All text of a PDF, read back with pypdf, with no-break spaces as plain spaces."""
    assert data.startswith(b"%PDF"), "not a PDF"
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return text.replace("\u00a0", " ")


@pytest.fixture
def pdf_text_of():
    """``pdf_text_of(bytes)``: the PDF's text (see :func:`pdf_text`)."""
    return pdf_text


@pytest.fixture
def engine(tmp_path):
    """A temporary SQLite database with every table."""
    eng = make_engine("sqlite:///" + str(tmp_path / "t.sqlite"))
    metadata.create_all(eng)
    yield eng
    eng.dispose()


COMPANY = {"name": "Northwind IT Services", "address": ["12 Harbour Road", "Bristol BS1 4ST"],
           "email": "accounts@northwind.test", "phone": "+44 117 000 0000",
           "tax_number": "GB123456789", "locale": "en_US",
           "payment_instructions": "Bank transfer to Northwind IT, sort code 12-34-56, "
                                   "account 87654321"}


@pytest.fixture
def make_settings(tmp_path):
    """``make_settings(company=..., mail=...)``: HubSettings with the test company."""
    from hub.config import HubSettings

    def factory(*, company: dict | None = None, mail: dict | None = None) -> HubSettings:
        return HubSettings(data_dir=tmp_path / "data", company={**COMPANY, **(company or {})},
                           mail=mail or {})

    return factory


@dataclass
class Built:
    """Ids of rows a builder made."""

    organisation_id: int
    invoice_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def add_organisation(session, name: str = "Acme Dental Group", email: str | None = "ap@acme.test",
                     **kwargs) -> Organisation:
    attrs = kwargs.pop("attributes", {"billing_address": ["400 Market Street", "Springfield"]})
    org = Organisation(name=name, email=email, attributes=attrs, **kwargs)
    session.add(org)
    session.flush()
    return org


def add_invoice(session, organisation: Organisation, lines: list[dict], **fields) -> Invoice:
    """An invoice whose lines are priced by the billing core (``price_line``) and whose totals
    are the sum of its lines, as billing writes them."""
    currency = fields.pop("currency", organisation.currency)
    priced = []
    for spec in lines:
        line = price_line(Money(spec["unit_price"], currency), spec.get("quantity", "1"),
                          spec.get("tax_rate", "0"), spec.get("fraction", Fraction(1)))
        priced.append((spec, line))
    subtotal = sum((p.amount.amount for _, p in priced), Decimal(0))
    tax = sum((p.tax.amount for _, p in priced), Decimal(0))
    invoice = Invoice(organisation_id=organisation.id, currency=currency, subtotal=subtotal,
                      tax_total=tax, total=subtotal + tax, **fields)
    session.add(invoice)
    session.flush()
    for position, (spec, p) in enumerate(priced):
        session.add(InvoiceLine(
            invoice_id=invoice.id, position=position, description=spec["description"],
            line_type=spec.get("line_type", "standard"), quantity=p.quantity,
            unit_price=p.unit_price.amount, amount=p.amount.amount, tax_rate=p.tax_rate,
            tax_amount=p.tax.amount, period_start=spec.get("period_start"),
            period_end=spec.get("period_end"), provenance=spec.get("provenance", []),
            change=spec.get("change"), prorata_note=spec.get("prorata_note")))
    session.flush()
    return invoice


@pytest.fixture
def one_time_invoice(engine) -> Built:
    """A one-time invoice: labour at 20 % tax, a router at 20 %, a zero-rated item."""
    with session_scope(engine) as session:
        org = add_organisation(session)
        invoice = add_invoice(session, org, [
            {"description": "Onsite labour: server migration", "quantity": "2.5",
             "unit_price": "120.00", "tax_rate": "20"},
            {"description": "Ubiquiti router UDM-Pro", "quantity": "1", "unit_price": "379.00",
             "tax_rate": "20"},
            {"description": "Offsite backup setup (zero-rated)", "quantity": "1",
             "unit_price": "50.00", "tax_rate": "0"},
        ], number="2026010042", status="unpaid", issue_date=dt.date(2026, 1, 5),
            due_date=dt.date(2026, 1, 19), note="Thank you for your business.")
        return Built(org.id, invoice.id)


@pytest.fixture
def recurring_invoice(engine) -> Built:
    """Seed 002 example A: service from 15 March, billing day 1, so March is billed 15–31
    March pro-rata (17/31); seed 000's counters: devices and $7.00 per remote-access user."""
    march15, march31 = dt.date(2026, 3, 15), dt.date(2026, 3, 31)
    with session_scope(engine) as session:
        org = add_organisation(session, name="Riverside Clinic", email="billing@riverside.test",
                               auto_bill=False)
        invoice = add_invoice(session, org, [
            {"description": "Managed workstation (per device)", "line_type": "prorata",
             "quantity": "12", "unit_price": "45.00", "fraction": Fraction(17, 31),
             "period_start": march15, "period_end": march31,
             "prorata_note": "pro-rata 17/31 days from service start 15 March",
             "change": "+3 devices: WS-10, WS-11, WS-12",
             "provenance": [{"asset": i} for i in range(12)]},
            {"description": "Remote access (Splashtop) per user", "line_type": "user_counter",
             "quantity": "5", "unit_price": "7.00", "period_start": march15,
             "period_end": march31, "provenance": [{"contact": i} for i in range(5)]},
            {"description": "Microsoft 365 Business Premium", "line_type": "vendor_usage",
             "quantity": "8", "unit_price": "22.00", "period_start": march15,
             "period_end": march31},
            {"description": "Backup storage overage (February)", "line_type": "vendor_usage",
             "quantity": "3", "unit_price": "5.00", "period_start": dt.date(2026, 2, 1),
             "period_end": dt.date(2026, 2, 28)},
        ], kind="recurring", number="2026030007", status="unpaid",
            issue_date=march15, due_date=dt.date(2026, 3, 29), period_start=march15,
            period_end=march31, billing_key="schedule:1", schedule_key="schedule:1")
        return Built(org.id, invoice.id)


class SmtpRecorder:
    """aiosmtpd handler keeping every message, or refusing with ``refuse`` (``"554 ..."``)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse: str | None = None
        self.attempts = 0

    async def handle_DATA(self, server, session, envelope):
        self.attempts += 1
        if self.refuse:
            return self.refuse
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server():
    """A real SMTP server on 127.0.0.1 (aiosmtpd) recording what it receives."""
    from aiosmtpd.controller import Controller

    handler = SmtpRecorder()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.port = controller.port
    yield handler
    controller.stop()


@pytest.fixture
def make_context(engine, make_settings):
    """``make_context(mail=..., company=...)``: a HubContext over the test database."""
    from hub.host.context import HubContext
    from hub.host.plugins import build_plugin_host

    def factory(**settings) -> HubContext:
        return HubContext(settings=make_settings(**settings), engine=engine,
                          plugins=build_plugin_host([], load_entry_points=False),
                          clock=lambda: dt.datetime(2026, 3, 15, 9, 0, tzinfo=dt.timezone.utc))

    return factory


@pytest.fixture
def build():
    """``build.organisation(session, ...)`` and ``build.invoice(session, org, lines, ...)``."""
    return SimpleNamespace(organisation=add_organisation, invoice=add_invoice)
