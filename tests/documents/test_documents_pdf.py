"""Invoice, credit note and statement PDFs: their key text, read back from the PDF itself."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from hub.db.engine import session_scope
from hub.db.models import (
    CreditNote, CreditNoteLine, Payment, Side, Transaction, TransactionCategory,
)
from hub.customer_docs import DocumentRenderer, TemplateFailed
from hub.errors import ConfigError, NotFound, ValidationFailed


def render(engine, settings, method: str, *args):
    renderer = DocumentRenderer(settings, today=lambda: dt.date(2026, 4, 2))
    with session_scope(engine) as session:
        return getattr(renderer, method)(session, *args)


def squash(text: str) -> str:
    """PDF text with runs of whitespace as one space, so table cells read as one line."""
    return re.sub(r"\s+", " ", text)


def _invoice_of_new_organisation(engine, build, line: dict, *, organisation: dict | None = None,
                                 **invoice) -> int:
    """Id of an invoice with the one ``line`` (``invoice``: its fields) for a new organisation
    (``organisation``: its fields)."""
    with session_scope(engine) as session:
        org = build.organisation(session, **(organisation or {}))
        return build.invoice(session, org, [line], **invoice).id


def test_one_time_invoice_pdf_shows_numbers_totals_dates_and_tax(engine, make_settings,
                                                                 one_time_invoice, pdf_text_of):
    doc = render(engine, make_settings(), "invoice", one_time_invoice.invoice_id)
    text = squash(pdf_text_of(doc.pdf))

    assert doc.filename == "invoice-2026010042.pdf"
    assert "Invoice number 2026010042" in text
    assert "Invoice date Jan 5, 2026" in text and "Due date Jan 19, 2026" in text
    # Who from and who to.
    assert "Northwind IT Services" in text and "12 Harbour Road" in text
    assert "Tax no. GB123456789" in text
    assert "Acme Dental Group" in text and "400 Market Street" in text
    # Lines: 2.5 h x 120.00 = 300.00 at 20 %; router 379.00 at 20 %; 50.00 at 0 %.
    assert "Onsite labour: server migration 2.5 $120.00 20% $300.00" in text
    assert "Ubiquiti router UDM-Pro 1 $379.00 20% $379.00" in text
    assert "0% $50.00" in text
    # Totals: subtotal 729.00; tax 20 % of 679.00 = 135.80; total 864.80.
    assert "Subtotal $729.00" in text
    assert "Tax 20% $135.80" in text
    assert "Total $864.80" in text
    assert "Amount due $864.80" in text
    # Tax breakdown by rate: net and tax per rate.
    assert "Tax breakdown" in text
    assert "20% $679.00 $135.80" in text and "0% $50.00 $0.00" in text
    # How to pay, with the invoice number to quote.
    assert "Please pay $864.80 by Jan 19, 2026, quoting invoice number 2026010042" in text
    assert "sort code 12-34-56" in text
    assert "Thank you for your business." in text


def test_recurring_invoice_pdf_shows_period_counters_and_pro_rata(engine, make_settings,
                                                                  recurring_invoice, pdf_text_of):
    doc = render(engine, make_settings(), "invoice", recurring_invoice.invoice_id)
    text = squash(pdf_text_of(doc.pdf))

    assert "Invoice number 2026030007" in text
    # Seed 002 example A: service from 15 March, billing day 1 -> billed 15 March - 31 March.
    assert "Billing period Mar 15, 2026 – Mar 31, 2026" in text
    # 12 devices x 45.00 x 17/31 = 296.129... -> 296.13, with the pro-rata explained.
    assert "Managed workstation (per device)" in text
    assert "12 $45.00 0% $296.13" in text
    assert doc.context["invoice"].lines[0].counted == 12  # provenance: the 12 devices
    assert "pro-rata 17/31 days from service start 15 March" in text
    # The counter's change since the last invoice is an internal note, not for the customer.
    assert "+3 devices" not in text and "WS-10" not in text
    # Seed 000: $7.00 per remote-access user, 5 users.
    assert "Remote access (Splashtop) per user" in text and "5 $7.00 0% $35.00" in text
    assert "8 $22.00 0% $176.00" in text
    # A line for another period says so; lines of the invoice's own period do not repeat it.
    assert "Backup storage overage (February) Feb 1, 2026 – Feb 28, 2026" in text
    assert text.count("Mar 15, 2026 – Mar 31, 2026") == 1
    # 296.13 + 35.00 + 176.00 + 15.00 = 522.13, no tax (so no tax breakdown either).
    assert "Total $522.13" in text and "Amount due $522.13" in text
    assert "Tax breakdown" not in text
    assert "Due date Mar 29, 2026" in text


def test_partly_paid_invoice_shows_paid_and_amount_due(engine, make_settings, build, pdf_text_of):
    # Seed 002 partial payment example #1: invoiced 120, paid 50, due 70.
    invoice_id = _invoice_of_new_organisation(
        engine, build, {"description": "Internet 100 Mbit", "unit_price": "120.00"},
        number="2026020001", status="partially_paid", issue_date=dt.date(2026, 2, 1),
        due_date=dt.date(2026, 2, 15), amount_paid=Decimal("50.00"))
    text = squash(pdf_text_of(render(engine, make_settings(), "invoice", invoice_id).pdf))
    assert "Total $120.00" in text
    assert "Paid -$50.00" in text
    assert "Amount due $70.00" in text
    assert "Please pay $70.00 by Feb 15, 2026" in text


def test_paid_invoice_is_stamped_and_asks_for_nothing(engine, make_settings, build, pdf_text_of):
    invoice_id = _invoice_of_new_organisation(
        engine, build, {"description": "Support block", "unit_price": "100.00"},
        number="2026020002", status="paid", issue_date=dt.date(2026, 2, 1),
        due_date=dt.date(2026, 2, 15), amount_paid=Decimal("100.00"))
    text = squash(pdf_text_of(render(engine, make_settings(), "invoice", invoice_id).pdf))
    assert "PAID" in text and "Amount due $0.00" in text
    assert "Please pay" not in text


def test_proforma_invoice_is_titled_as_such(engine, make_settings, build, pdf_text_of):
    invoice_id = _invoice_of_new_organisation(
        engine, build, {"description": "Annual licence, prepaid", "unit_price": "1200.00"},
        kind="proforma", number="PF2026000004", status="unpaid", issue_date=dt.date(2026, 2, 1),
        due_date=dt.date(2026, 2, 15))
    doc = render(engine, make_settings(), "invoice", invoice_id)
    text = squash(pdf_text_of(doc.pdf))
    assert "Proforma invoice" in text and "PF2026000004" in text
    assert doc.filename == "proforma-PF2026000004.pdf"


def test_templates_cannot_fetch_urls_or_read_other_files(engine, make_settings,
                                                         one_time_invoice, tmp_path,
                                                         pdf_text_of):
    import http.server
    import threading

    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    secret = tmp_path / "outside" / "secret.png"
    secret.parent.mkdir()
    from PIL import Image

    Image.new("RGB", (10, 10)).save(secret)
    folder = tmp_path / "tpl"
    folder.mkdir()
    (folder / "invoice.html").write_text(
        '{% extends "base.html" %}{% block content %}'
        f'<img src="http://127.0.0.1:{server.server_port}/track.png">'
        f'<img src="{secret}"><p>still rendered</p>{{% endblock %}}')
    try:
        doc = render(engine, make_settings(company={"templates_dir": str(folder)}), "invoice",
                     one_time_invoice.invoice_id)
    finally:
        server.shutdown()
    assert hits == []
    assert "still rendered" in pdf_text_of(doc.pdf)
    from pypdf import PdfReader
    import io

    assert len(PdfReader(io.BytesIO(doc.pdf)).pages[0].images) == 0


def test_draft_invoice_is_marked_and_has_no_number(engine, make_settings, build, pdf_text_of):
    invoice_id = _invoice_of_new_organisation(
        engine, build, {"description": "Preview line", "unit_price": "10.00"},
        status="draft", issue_date=dt.date(2026, 2, 1), due_date=dt.date(2026, 2, 15))
    doc = render(engine, make_settings(), "invoice", invoice_id)
    text = squash(pdf_text_of(doc.pdf))
    assert "Draft invoice" in text and "DRAFT: not a valid invoice" in text
    assert "Invoice number DRAFT" in text and "Please pay" not in text
    assert doc.filename == "invoice-DRAFT.pdf"


def _auto_billed(engine, build, *, cards=()):
    """An auto-billed invoice of an organisation with stored ``cards`` (brand, last4, month,
    year, default), attached through the payment profiles service."""
    import hub.ledger.payment_profiles as profiles

    with session_scope(engine) as session:
        org = build.organisation(session, auto_bill=True)
        for i, (brand, last4, month, year, default) in enumerate(cards):
            profiles.attach_profile(session, organisation_id=org.id, connection="stripe",
                                    customer_ref="cus_1", payment_method_ref=f"pm_{i}",
                                    card=profiles.CardDetails(brand, last4, month, year),
                                    make_default=default)
        return build.invoice(session, org, [{"description": "Managed services",
                                             "unit_price": "250.00"}],
                             number="2026030011", status="unpaid", auto_bill=True,
                             issue_date=dt.date(2026, 3, 1), due_date=dt.date(2026, 3, 15)).id


def _render_on_issue_day(engine, settings, invoice_id):
    """The renderer as on 1 March 2026 (the auto-billed invoice's issue day) and its invoice."""
    renderer = DocumentRenderer(settings, today=lambda: dt.date(2026, 3, 1))
    with session_scope(engine) as session:
        return renderer, renderer.invoice(session, invoice_id)


def test_auto_billed_invoice_names_the_card_that_will_be_charged(engine, make_settings, build,
                                                                 pdf_text_of):
    invoice_id = _auto_billed(engine, build, cards=[("mastercard", "5555", 1, 2028, False),
                                                    ("visa", "4242", 4, 2027, True)])
    renderer, doc = _render_on_issue_day(engine, make_settings(), invoice_id)
    text = squash(pdf_text_of(doc.pdf))
    # The default card, as the auto-charge picks it (hub.ledger.payment_profiles.profile_to_charge).
    assert ("$250.00 will be charged automatically to your Visa ending 4242 (exp. 04/2027) "
            "on Mar 15, 2026. No action is needed.") in text
    assert "sort code" not in text and "5555" not in text
    assert "will be charged to your Visa ending 4242 (exp. 04/2027) on Mar 15, 2026" in \
        renderer.mail_text(doc).body


@pytest.mark.parametrize("cards", [
    [],                                          # no stored card at all
    [("visa", "4242", 1, 2026, True)],           # the default card expired in January
], ids=["no-card", "expired-card"])
def test_auto_billed_invoice_without_a_usable_card_asks_for_payment(engine, make_settings,
                                                                   build, pdf_text_of, cards):
    invoice_id = _auto_billed(engine, build, cards=cards)
    _, doc = _render_on_issue_day(engine, make_settings(), invoice_id)
    text = squash(pdf_text_of(doc.pdf))
    assert "We have no valid card on file to charge automatically" in text
    assert "Please pay $250.00 by Mar 15, 2026, quoting invoice number 2026030011" in text
    assert "sort code 12-34-56" in text and "will be charged" not in text


def test_credit_note_pdf_shows_number_credited_invoice_lines_tax_and_total(
        engine, make_settings, one_time_invoice, pdf_text_of):
    with session_scope(engine) as session:
        note = CreditNote(organisation_id=one_time_invoice.organisation_id,
                          number="CN2026000003", invoice_id=one_time_invoice.invoice_id,
                          date=dt.date(2026, 1, 20), reason="Router returned unused",
                          subtotal=Decimal("379.00"), tax_total=Decimal("75.80"),
                          total=Decimal("454.80"))
        session.add(note)
        session.flush()
        session.add(CreditNoteLine(credit_note_id=note.id, description="Ubiquiti router UDM-Pro",
                                   quantity=Decimal("1"), unit_price=Decimal("379.00"),
                                   amount=Decimal("379.00"), tax_rate=Decimal("20"),
                                   tax_amount=Decimal("75.80")))
        note_id = note.id
    doc = render(engine, make_settings(), "credit_note", note_id)
    text = squash(pdf_text_of(doc.pdf))
    assert doc.filename == "credit-note-CN2026000003.pdf"
    assert "Credit note number CN2026000003" in text
    assert "Date Jan 20, 2026" in text
    assert "Credits invoice 2026010042" in text
    assert "Reason: Router returned unused" in text
    assert "Ubiquiti router UDM-Pro 1 $379.00 20% $379.00" in text
    assert "Tax 20% $75.80" in text
    assert "Total credited $454.80" in text
    assert "20% $379.00 $75.80" in text  # breakdown


def _ledger(engine, build):
    """Seed 002's statement material: January and February documents of one customer."""
    with session_scope(engine) as session:
        org = build.organisation(session, name="Harbour Pharmacy", email="ap@harbour.test")
        inv_paid = build.invoice(session, org, [{"description": "Managed services",
                                                 "unit_price": "200.00"}],
                                 number="2026010101", status="paid",
                                 amount_paid=Decimal("200.00"),
                                 issue_date=dt.date(2026, 1, 1), due_date=dt.date(2026, 1, 15))
        inv_part = build.invoice(session, org, [{"description": "Internet 100 Mbit",
                                                 "unit_price": "120.00"}],
                                 number="2026010102", status="partially_paid",
                                 amount_paid=Decimal("50.00"),
                                 issue_date=dt.date(2026, 1, 10), due_date=dt.date(2026, 1, 24))
        inv_open = build.invoice(session, org, [{"description": "Onsite visit",
                                                 "unit_price": "80.00"}],
                                 number="2026010103", status="unpaid",
                                 issue_date=dt.date(2026, 1, 20), due_date=dt.date(2026, 2, 3))
        inv_feb = build.invoice(session, org, [{"description": "Managed services",
                                                "unit_price": "200.00"}],
                                number="2026020101", status="unpaid",
                                issue_date=dt.date(2026, 2, 1), due_date=dt.date(2026, 2, 15))
        deleted = build.invoice(session, org, [{"description": "Mistake", "unit_price": "999.00"}],
                                number="2026010104", status="deleted",
                                issue_date=dt.date(2026, 1, 21), due_date=dt.date(2026, 2, 4))
        session.add(Payment(organisation_id=org.id, amount=Decimal("200.00"), method="card",
                            date=dt.date(2026, 1, 3), reference="ch_A1"))
        session.add(Payment(organisation_id=org.id, amount=Decimal("50.00"),
                            method="bank_transfer", date=dt.date(2026, 1, 12), reference="BT-77"))
        session.add(CreditNote(organisation_id=org.id, number="CN2026000009",
                               invoice_id=inv_open.id, date=dt.date(2026, 1, 25),
                               subtotal=Decimal("0.00"), total=Decimal("0.00")))
        # Transactions: December's opening debit, January's activity, February's invoice.
        debit, credit = Side.debit, Side.credit
        auto, paid = TransactionCategory.auto, TransactionCategory.payment
        for date, side, category, amount, text in [
            (dt.date(2025, 12, 1), debit, auto, "30.00", "Invoice 2025120001"),
            (dt.date(2026, 1, 1), debit, auto, "200.00", "Invoice 2026010101"),
            (dt.date(2026, 1, 3), credit, paid, "200.00", "Payment ch_A1"),
            (dt.date(2026, 1, 10), debit, auto, "120.00", "Invoice 2026010102"),
            (dt.date(2026, 1, 12), credit, paid, "50.00", ""),
            (dt.date(2026, 2, 1), debit, auto, "200.00", "Invoice 2026020101"),
        ]:
            session.add(Transaction(organisation_id=org.id, side=side, category=category,
                                    amount=Decimal(amount), date=date, description=text))
        return org.id, {"feb": inv_feb.id, "deleted": deleted.id, "paid": inv_paid.id,
                        "part": inv_part.id}


def test_statement_of_documents_lists_the_period_and_totals(engine, make_settings, build,
                                                            pdf_text_of):
    org_id, _ = _ledger(engine, build)
    doc = render(engine, make_settings(), "statement", org_id, dt.date(2026, 1, 1),
                 dt.date(2026, 1, 31), "documents")
    text = squash(pdf_text_of(doc.pdf))
    assert doc.filename == "statement-Harbour-Pharmacy-2026-01-01-2026-01-31.pdf"
    assert "Statement" in text and "Harbour Pharmacy" in text
    assert "Period Jan 1, 2026 – Jan 31, 2026" in text
    assert "Jan 1, 2026 Invoice 2026010101 paid $200.00 $200.00 $0.00" in text
    assert "Jan 10, 2026 Invoice 2026010102 partially paid $120.00 $50.00 $70.00" in text
    assert "Jan 20, 2026 Invoice 2026010103 unpaid $80.00 $0.00 $80.00" in text
    assert "Jan 3, 2026 Payment ch_A1 card $200.00" in text
    assert "Jan 12, 2026 Payment BT-77 bank transfer $50.00" in text
    assert "Jan 25, 2026 Credit note CN2026000009" in text
    assert "2026020101" not in text  # February is outside the period
    assert "2026010104" not in text and "$999.00" not in text  # deleted: never owed
    # The seed's Total invoiced table: deleted invoices do not count; partially paid counts in
    # both Paid (what was paid) and Unpaid (what is due): 400 = 250 + 150.
    assert "Invoiced (3) $400.00" in text
    assert "Paid (2) $250.00" in text
    assert "Unpaid (2) $150.00" in text


def test_statement_of_transactions_runs_the_balance_from_the_opening(engine, make_settings,
                                                                     build, pdf_text_of):
    org_id, _ = _ledger(engine, build)
    doc = render(engine, make_settings(), "statement", org_id, dt.date(2026, 1, 1),
                 dt.date(2026, 1, 31), "transactions")
    text = squash(pdf_text_of(doc.pdf))
    # December's 30.00 debit is the opening balance; February is after the period.
    assert "Jan 1, 2026 Opening balance -$30.00" in text
    assert "Jan 1, 2026 Invoice 2026010101 $200.00 -$230.00" in text
    assert "Jan 3, 2026 Payment ch_A1 $200.00 -$30.00" in text
    assert "Jan 10, 2026 Invoice 2026010102 $120.00 -$150.00" in text
    assert "Jan 12, 2026 Payment $50.00 -$100.00" in text  # category label when no description
    assert "Jan 31, 2026 Closing balance -$100.00" in text
    assert "Feb 1, 2026" not in text and "2026020101" not in text


def test_statement_refuses_a_bad_period_or_mode(engine, make_settings, build):
    org_id, _ = _ledger(engine, build)
    with pytest.raises(ValidationFailed):
        render(engine, make_settings(), "statement", org_id, dt.date(2026, 2, 1),
               dt.date(2026, 1, 1), "documents")
    with pytest.raises(ValidationFailed, match="mode"):
        render(engine, make_settings(), "statement", org_id, dt.date(2026, 1, 1),
               dt.date(2026, 1, 31), "ledger")


def test_locale_sets_currency_number_and_date_formats(engine, make_settings, build, pdf_text_of):
    invoice_id = _invoice_of_new_organisation(
        engine, build, {"description": "Wartungsvertrag", "quantity": "1.5",
                        "unit_price": "1000.00", "tax_rate": "19"},
        organisation={"currency": "EUR"}, number="2026010500", status="unpaid",
        issue_date=dt.date(2026, 1, 5), due_date=dt.date(2026, 1, 19))
    text = squash(pdf_text_of(render(engine, make_settings(company={"locale": "de_DE"}),
                                     "invoice", invoice_id).pdf))
    # 1.5 x 1,000.00 = 1,500.00; 19 % = 285.00; total 1,785.00 — German separators, € after.
    assert "1,5 1.000,00 € 19% 1.500,00 €" in text
    assert "Total 1.785,00 €" in text
    assert "Invoice date 05.01.2026" in text


def test_edited_templates_in_the_configured_folder_win(engine, make_settings, one_time_invoice,
                                                        tmp_path, pdf_text_of):
    folder = tmp_path / "my-templates"
    (folder / "mail").mkdir(parents=True)
    (folder / "invoice.html").write_text(
        '{% extends "base.html" %}{% block heading %}Tax invoice{% endblock %}'
        "{% block content %}<p>Pay {{ invoice.total|money }} within 14 days.</p>{% endblock %}")
    (folder / "mail" / "invoice.subject.txt").write_text("Your bill {{ invoice.number }}")
    settings = make_settings(company={"templates_dir": str(folder)})
    renderer = DocumentRenderer(settings)
    with session_scope(engine) as session:
        doc = renderer.invoice(session, one_time_invoice.invoice_id)
    text = squash(pdf_text_of(doc.pdf))
    assert "Tax invoice" in text and "Pay $864.80 within 14 days." in text
    assert "Northwind IT Services" in text  # base.html still the packaged one
    mail = renderer.mail_text(doc)
    assert mail.subject == "Your bill 2026010042"
    assert "Please find attached invoice 2026010042" in mail.body  # body not overridden


def test_a_broken_edited_template_is_a_named_error(engine, make_settings, one_time_invoice,
                                                   tmp_path):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "invoice.html").write_text("{% extends 'base.html' %}{% block content %}"
                                         "{{ invoice.totl|money }}{% endblock %}")
    settings = make_settings(company={"templates_dir": str(folder)})
    with pytest.raises(TemplateFailed, match="totl"):
        render(engine, settings, "invoice", one_time_invoice.invoice_id)


def test_logo_is_embedded_and_a_missing_logo_is_a_config_error(engine, make_settings,
                                                               one_time_invoice, tmp_path):
    from PIL import Image
    from pypdf import PdfReader
    import io

    logo = tmp_path / "logo.png"
    Image.new("RGB", (120, 40), (31, 59, 90)).save(logo)
    doc = render(engine, make_settings(company={"logo": str(logo)}), "invoice",
                 one_time_invoice.invoice_id)
    images = PdfReader(io.BytesIO(doc.pdf)).pages[0].images
    assert len(images) == 1
    with pytest.raises(ConfigError, match="logo"):
        render(engine, make_settings(company={"logo": str(tmp_path / "nope.png")}), "invoice",
               one_time_invoice.invoice_id)


def test_unknown_documents_are_not_found(engine, make_settings):
    with pytest.raises(NotFound):
        render(engine, make_settings(), "invoice", 999)
    with pytest.raises(NotFound):
        render(engine, make_settings(), "credit_note", 999)
    with pytest.raises(NotFound):
        render(engine, make_settings(), "statement", 999, dt.date(2026, 1, 1),
               dt.date(2026, 1, 31))


@pytest.mark.parametrize("name, today, expected", [
    ("this-month", dt.date(2026, 2, 14), (dt.date(2026, 2, 1), dt.date(2026, 2, 28))),
    ("last-month", dt.date(2026, 3, 1), (dt.date(2026, 2, 1), dt.date(2026, 2, 28))),
    ("last-month", dt.date(2026, 1, 31), (dt.date(2025, 12, 1), dt.date(2025, 12, 31))),
    ("this-month", dt.date(2024, 12, 31), (dt.date(2024, 12, 1), dt.date(2024, 12, 31))),
    ("last-year", dt.date(2026, 6, 1), (dt.date(2025, 1, 1), dt.date(2025, 12, 31))),
])
def test_named_statement_periods(name, today, expected):
    from hub.customer_docs.statement_data import statement_period

    assert statement_period(name, today) == expected
    with pytest.raises(ValidationFailed, match="period"):
        statement_period("fortnight", today)
