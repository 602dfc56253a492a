"""post_invoices (bulk) writes exactly what post_invoice one by one writes, on the same data."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlmodel import Session

import hub.db.models as models
from hub.db.engine import make_engine
from hub.db.models import Invoice, InvoiceKind, InvoiceStatus, Organisation
from hub.db.models.ledger import Allocation, AllocationKind, Payment, PaymentStatus
from hub.errors import ValidationFailed
from hub.ledger import add_transaction, post_invoice, post_invoices

ISSUE = dt.date(2026, 3, 1)
TODAY = dt.date(2026, 3, 20)  # after the due date of the early invoices: some turn overdue


def _invoice(org_id: int, total: str, *, status=InvoiceStatus.draft, number=None,
             kind=InvoiceKind.recurring, issue=ISSUE, due_days=14) -> Invoice:
    value = Decimal(total)
    return Invoice(organisation_id=org_id, kind=kind, status=status, number=number,
                   currency="USD", issue_date=issue, due_date=issue + dt.timedelta(days=due_days),
                   subtotal=value, total=value)


def _scenario(session: Session) -> list[Invoice]:
    """Invoices in every situation posting meets; returns the list to post (with a repeat and
    one invoice not yet flushed)."""
    a = Organisation(name="Acme", currency="USD", billing_day=1, payment_due_days=14)
    b = Organisation(name="Beta", currency="USD", billing_day=1, payment_due_days=14)
    session.add_all([a, b])
    session.flush()
    plain = [_invoice(a.id if n % 2 else b.id, f"{100 + n}.25", number=f"INV{n:03d}")
             for n in range(6)]
    later = _invoice(a.id, "50.00", number="INV100", issue=dt.date(2026, 3, 15))
    unnumbered = _invoice(b.id, "75.10")
    zero = _invoice(a.id, "0.00", number="INV101")
    final = _invoice(b.id, "30.00", status=InvoiceStatus.unpaid, number="INV102")
    paid_part = _invoice(a.id, "200.00", number="INV103", due_days=60)
    processing = _invoice(b.id, "80.00", number="INV104", due_days=60)
    already = _invoice(a.id, "10.00", number="INV105")
    session.add_all([*plain, later, unnumbered, zero, final, paid_part, processing, already])
    session.flush()
    # Posted before: posting again returns its transaction and writes nothing.
    post_invoice(session, already, today=ISSUE)
    # Account credit already set against an invoice before it is posted.
    credit = add_transaction(session, a.id, side="credit", amount="60.00", date=ISSUE)
    session.add(Allocation(organisation_id=a.id, kind=AllocationKind.payment,
                           source_transaction_id=credit.id, invoice_id=paid_part.id,
                           amount=Decimal("60.00")))
    session.add(Payment(organisation_id=b.id, amount=Decimal("80.00"), date=ISSUE,
                        status=PaymentStatus.processing, invoice_id=processing.id))
    session.flush()
    not_flushed = _invoice(b.id, "12.34", number="INV106")
    return [*plain, later, unnumbered, zero, final, paid_part, processing, already, plain[2],
            not_flushed]


def _dump(session: Session) -> dict[str, list[tuple]]:
    """Every ledger-relevant row, without ids' timestamps (created_at differs run to run)."""
    out = {}
    for table in ("ledger_transaction", "invoice", "allocation", "payment", "outboxentry"):
        t = models.metadata.tables[table]
        cols = [c for c in t.c if c.name not in ("created_at", "updated_at")]
        out[table] = [tuple(r) for r in session.execute(sa.select(*cols).order_by(t.c.id))]
    return out


def _engine(tmp_path, name):
    eng = make_engine("sqlite:///" + str(tmp_path / name))
    models.metadata.create_all(eng)
    return eng


def _post_both_ways(engines):
    """Build the scenario in each of two empty databases, post it one by one in the first and
    in bulk in the second; returns (returned transactions, table dumps) of both."""
    results, dumps = [], []
    for engine, post in zip(engines, (
            lambda s, invs: [post_invoice(s, i, today=TODAY) for i in invs],
            lambda s, invs: post_invoices(s, invs, today=TODAY))):
        with Session(engine(), expire_on_commit=False) as session:
            invoices = _scenario(session)
            txs = post(session, invoices)
            session.commit()
            results.append([(t.id, t.invoice_id, t.amount, t.description) for t in txs])
            dumps.append(_dump(session))
    return results, dumps


def _check_the_same(results, dumps):
    assert results[0] == results[1]
    assert dumps[0] == dumps[1]
    assert len(dumps[1]["ledger_transaction"]) == 15  # 14 invoices + the manual credit
    # The figures really were refreshed (not just left as they were).
    rows = {r[dumps_columns("number")]: r for r in dumps[1]["invoice"]}
    status, paid = dumps_columns("status"), dumps_columns("amount_paid")
    assert rows["INV000"][status] == "overdue"
    assert rows["INV103"][status] == "partially_paid" and rows["INV103"][paid] == Decimal("60")
    assert rows["INV104"][status] == "pending"
    assert rows["INV101"][status] == "paid"
    assert rows["INV100"][status] == "unpaid"


def dumps_columns(name: str) -> int:
    """Position of an invoice column in :func:`_dump`'s rows."""
    t = models.metadata.tables["invoice"]
    return [c.name for c in t.c if c.name not in ("created_at", "updated_at")].index(name)


def test_bulk_posting_writes_the_same_rows_as_one_by_one(tmp_path):
    engines = [_engine(tmp_path, "one.sqlite"), _engine(tmp_path, "bulk.sqlite")]
    try:
        _check_the_same(*_post_both_ways([lambda: engines[0], lambda: engines[1]]))
    finally:
        for engine in engines:
            engine.dispose()


def test_bulk_posting_without_returning_writes_the_same_rows(tmp_path):
    """The billing confirm's way (nothing read back) leaves the very same rows."""
    dumps = []
    for name, returning in (("returning.sqlite", True), ("silent.sqlite", False)):
        engine = _engine(tmp_path, name)
        with Session(engine, expire_on_commit=False) as session:
            answer = post_invoices(session, _scenario(session), today=TODAY,
                                   returning=returning)
            assert (answer is None) == (not returning)
            session.commit()
            dumps.append(_dump(session))
        engine.dispose()
    assert dumps[0] == dumps[1]
    assert len(dumps[1]["ledger_transaction"]) == 15


def _finalised(session: Session) -> list[Invoice]:
    """The scenario as the billing confirm meets it: every invoice stored and already unpaid
    (finalising numbered it) before it is posted."""
    invoices = _scenario(session)
    for invoice in invoices:
        if invoice.status == InvoiceStatus.draft:
            invoice.status = InvoiceStatus.unpaid
    session.add_all(invoices)
    session.flush()
    return invoices


def _post_by_id_and_one_by_one(engines, returning):
    results, dumps = [], []
    for engine, by_id in zip(engines, (False, True)):
        with Session(engine(), expire_on_commit=False) as session:
            invoices = _finalised(session)
            if by_id:
                ids = [i.id for i in invoices]
                session.expunge_all()  # the confirm holds no ORM object of them
                txs = post_invoices(session, ids, today=TODAY, returning=returning)
            else:
                txs = [post_invoice(session, i, today=TODAY) for i in invoices]
            session.commit()
            results.append(None if txs is None else
                           [(t.id, t.invoice_id, t.amount, t.description) for t in txs])
            dumps.append(_dump(session))
    return results, dumps


@pytest.mark.parametrize("returning", [True, False])
def test_bulk_posting_by_id_writes_the_same_rows_as_one_by_one(tmp_path, returning):
    """Invoices given by id (read as plain rows, figures written by UPDATE) end as posting the
    ORM objects one by one leaves them."""
    engines = [_engine(tmp_path, "one.sqlite"), _engine(tmp_path, "ids.sqlite")]
    try:
        results, dumps = _post_by_id_and_one_by_one(
            [lambda: engines[0], lambda: engines[1]], returning)
        if returning:
            assert results[0] == results[1]
        else:
            assert results[1] is None
        _check_the_same([results[0]] * 2, dumps)
    finally:
        for engine in engines:
            engine.dispose()


def test_bulk_posting_by_id_of_a_draft_posts_it_as_the_orm_way(tmp_path):
    """A draft given by id turns unpaid before its debit is written, as post_invoice does."""
    dumps = []
    for name, by_id in (("one.sqlite", False), ("ids.sqlite", True)):
        engine = _engine(tmp_path, name)
        with Session(engine, expire_on_commit=False) as session:
            invoices = _finalised(session)
            invoices[0].status = InvoiceStatus.draft
            session.flush()
            if by_id:
                post_invoices(session, [i.id for i in invoices], today=TODAY, returning=False)
            else:
                for invoice in invoices:
                    post_invoice(session, invoice, today=TODAY)
            session.commit()
            dumps.append(_dump(session))
        engine.dispose()
    assert dumps[0] == dumps[1]


@pytest.mark.postgres
def test_bulk_posting_by_id_writes_the_same_rows_on_postgres(hub_postgres_url):
    engine = make_engine(hub_postgres_url)

    def fresh():
        models.metadata.drop_all(engine)
        models.metadata.create_all(engine)
        return engine

    try:
        results, dumps = _post_by_id_and_one_by_one([fresh, fresh], True)
        _check_the_same(results, dumps)
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_bulk_posting_writes_the_same_rows_as_one_by_one_on_postgres(hub_postgres_url):
    engine = make_engine(hub_postgres_url)

    def fresh():
        # Dropped and made again so that both ways start from the same ids (sequences).
        models.metadata.drop_all(engine)
        models.metadata.create_all(engine)
        return engine

    try:
        _check_the_same(*_post_both_ways([fresh, fresh]))
    finally:
        engine.dispose()


def test_bulk_posting_refuses_a_proforma_before_writing_anything(tmp_path):
    eng = _engine(tmp_path, "refuse.sqlite")
    with Session(eng) as session:
        org = Organisation(name="Acme", currency="USD", billing_day=1, payment_due_days=14)
        session.add(org)
        session.flush()
        good = _invoice(org.id, "10.00", number="INV1")
        proforma = _invoice(org.id, "20.00", kind=InvoiceKind.proforma)
        session.add_all([good, proforma])
        session.flush()
        with pytest.raises(ValidationFailed, match="proforma"):
            post_invoices(session, [good, proforma])
        count = session.execute(sa.select(sa.func.count()).select_from(
            models.metadata.tables["ledger_transaction"])).scalar_one()
        assert count == 0
        assert good.status == InvoiceStatus.draft
    eng.dispose()


def test_billing_finalise_uses_the_bulk_posting(monkeypatch):
    from hub import ledger
    from hub.billing.finalise import ledger_poster

    calls = []
    monkeypatch.setattr(ledger, "post_invoices",
                        lambda session, invoices, **options: calls.append((invoices, options)))
    ledger_poster()("session", ["invoice"])
    assert calls == [(["invoice"], {"returning": False})]
