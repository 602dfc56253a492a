"""Invoice PDF rendering benchmark: how long one invoice takes to render (Jinja2 + xhtml2pdf)
as its number of lines grows, and how many typical invoices render per second.

    python bench/customer_docs.py                      # 10, 100 and 300 lines
    python bench/customer_docs.py --lines 10,1000 --repeat 3

Prints, per line count: seconds per invoice (best of --repeat), pages, and ms per line. The
work happens in a temporary SQLite database; nothing else is touched.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from pypdf import PdfReader

from hub.config import HubSettings
from hub.db.engine import make_engine, session_scope
from hub.db.models import Invoice, InvoiceLine, Organisation, metadata
from hub.customer_docs import DocumentRenderer


def make_invoice(engine, lines: int) -> int:
    """An invoice with ``lines`` device lines at 10.00, 20 % tax."""
    with session_scope(engine) as session:
        org = Organisation(name=f"Bench {lines}", email="ap@bench.test")
        session.add(org)
        session.flush()
        net = Decimal(10) * lines
        invoice = Invoice(organisation_id=org.id, number=f"B{lines:06d}", status="unpaid",
                          issue_date=dt.date(2026, 1, 1), due_date=dt.date(2026, 1, 15),
                          subtotal=net, tax_total=net / 5, total=net * Decimal("1.2"))
        session.add(invoice)
        session.flush()
        session.add_all(InvoiceLine(invoice_id=invoice.id, position=i,
                                    description=f"Managed device WS-{i:05d}",
                                    quantity=Decimal(1), unit_price=Decimal(10),
                                    amount=Decimal(10), tax_rate=Decimal(20),
                                    tax_amount=Decimal(2)) for i in range(lines))
        return invoice.id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", default="10,100,300", help="comma-separated line counts")
    parser.add_argument("--repeat", type=int, default=2, help="renders per size (best is kept)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.sqlite'}")
        metadata.create_all(engine)
        renderer = DocumentRenderer(HubSettings(data_dir=Path(tmp)))
        print(f"{'lines':>6} {'s/invoice':>10} {'pages':>6} {'ms/line':>8} {'invoices/s':>11}")
        for lines in (int(n) for n in args.lines.split(",")):
            invoice_id = make_invoice(engine, lines)
            best = float("inf")
            for _ in range(args.repeat):
                start = time.perf_counter()
                with session_scope(engine) as session:
                    document = renderer.invoice(session, invoice_id)
                best = min(best, time.perf_counter() - start)
            pages = len(PdfReader(io.BytesIO(document.pdf)).pages)
            print(f"{lines:>6} {best:>10.3f} {pages:>6} {1000 * best / lines:>8.2f} "
                  f"{1 / best:>11.2f}")
        engine.dispose()


if __name__ == "__main__":
    main()
