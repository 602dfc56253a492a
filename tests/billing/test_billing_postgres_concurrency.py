"""Exactly once on real PostgreSQL: two billing runs started together for the same date make
every invoice once between them, and neither shows an error; confirming both batches at the same
time gives unique, gap-free numbers."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func
from sqlmodel import select

from hub.billing import confirm, preview
from hub.billing.catalogue import create_organisation
from hub.billing.recurring import add_recurring_line, create_recurring
from hub.db.engine import session_scope
from hub.db.models import Invoice

D = dt.date
SCHEDULES = 60


def _together(*calls):
    """Run ``calls`` in threads released at the same instant; return results or raise."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)
    errors: list = []

    def run(i, call):
        barrier.wait()
        try:
            results[i] = call()
        except BaseException as exc:  # collected and re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    if errors:
        raise errors[0]
    return results


@pytest.mark.postgres
def test_two_billing_runs_started_together_on_postgres_make_no_duplicate(
        hub_postgres_url, tmp_path, make_ctx, counters):
    first = make_ctx(hub_postgres_url, tmp_path / "a")
    second = make_ctx(hub_postgres_url, tmp_path / "b")  # its own engine: like another process
    with session_scope(first.engine) as s:
        for n in range(SCHEDULES):
            org = create_organisation(s, f"Org {n}")
            schedule = create_recurring(s, org.id, D(2026, 3, 15))
            add_recurring_line(s, recurring_id=schedule.id, description="Managed devices",
                               line_type="asset_counter", unit_price="25.00")
            add_recurring_line(s, recurring_id=schedule.id, description="Support",
                               unit_price="99.00")
            counters.devices[org.id] = [{"ref": f"dev:{org.id}:{i}", "label": f"PC-{i}"}
                                        for i in range(n % 4)]
    made = 0
    for run_date in (D(2026, 4, 1), D(2026, 5, 1), D(2026, 6, 1)):
        a, b = _together(lambda: preview(first, run_date), lambda: preview(second, run_date))
        assert a.invoices + b.invoices == SCHEDULES
        made += SCHEDULES
        with session_scope(first.engine) as s:
            keys = s.exec(select(Invoice.billing_key, func.count()).group_by(
                Invoice.billing_key, Invoice.period_start)).all()
        assert len(keys) == made and {count for _, count in keys} == {1}
        contexts = {a.batch_id: first, b.batch_id: second}
        _together(*[lambda x=x: confirm(contexts[x.batch_id], x.batch_id)
                    for x in (a, b) if x.invoices])
        with session_scope(first.engine) as s:
            numbers = sorted(s.exec(select(Invoice.number)).all())
        # unique and gap-free: 202601000001, 202601000002, ...
        assert [int(n[-6:]) for n in numbers] == list(range(1, made + 1))
