"""A `hub bill preview` killed mid-run (SIGKILL) leaves an unfinished batch; the next preview
completes it, and confirming bills every organisation exactly once (issue #16), on SQLite and
PostgreSQL. An unfinished batch cannot be confirmed before it is completed."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal

import pytest
from sqlalchemy import func, insert, select

from hub.db.engine import make_engine
from hub.db.models import BillingBatch, Invoice, Organisation, RecurringInvoice, RecurringLine
from hub.db.models import metadata

ORGANISATIONS = 4000  # eight chunks of 500: long enough to be killed between chunks


def _seed(url: str) -> None:
    engine = make_engine(url)
    metadata.create_all(engine)
    start = dt.date(2026, 3, 1)
    with engine.begin() as conn:
        conn.execute(insert(Organisation.__table__), [
            {"id": n, "name": f"Org {n}", "currency": "USD", "billing_day": 1,
             "auto_bill": False, "require_invoice_group": False, "active": True,
             "attributes": {}, "created_at": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)}
            for n in range(1, ORGANISATIONS + 1)])
        conn.execute(insert(RecurringInvoice.__table__), [
            {"id": n, "organisation_id": n, "name": "Internet", "frequency": "monthly",
             "interval": 1, "billing_day": 1, "anchor_date": start, "service_start": start,
             "covered_from": start, "next_run_date": start, "auto_bill": False,
             "add_pending_ticket_charges": False, "ticket_status_filter": [],
             "ticket_charge_order": "oldest_first", "active": True,
             "created_at": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)}
            for n in range(1, ORGANISATIONS + 1)])
        conn.execute(insert(RecurringLine.__table__), [
            {"recurring_invoice_id": n, "position": 0, "line_type": "standard",
             "description": "Internet", "quantity": Decimal(1), "unit_price": Decimal("45"),
             "tax_rate": Decimal(0), "counter_filters": {}, "active": True}
            for n in range(1, ORGANISATIONS + 1)])
    engine.dispose()


def _hub(config, *args: str, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "hub.cli.main", "--config", str(config),
                             *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kwargs)


def _drafts(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(Invoice)
                            .where(Invoice.status == "draft")).scalar()


#: Runs ``hub`` with the preview held after its first chunk is stored (a marker file says so),
#: so the kill lands mid-run however fast the preview is or however busy the machine.
HELD_AFTER_FIRST_CHUNK = """
import pathlib, sys, time
import hub.billing.runs as runs
marker, stored = pathlib.Path(sys.argv[1]), runs._store
def store_then_hold(*args, **kwargs):
    result = stored(*args, **kwargs)
    if not marker.exists():
        marker.write_text("one chunk stored")
        time.sleep(600)  # the test kills the process here, between chunks
    return result
runs._store = store_then_hold
from hub.cli.main import main
sys.exit(main(sys.argv[2:]))
"""


def _kill_mid_run(config, engine) -> None:
    marker = config.parent / "first-chunk-stored"
    process = subprocess.Popen(
        [sys.executable, "-c", HELD_AFTER_FIRST_CHUNK, str(marker), "--config", str(config),
         "bill", "preview", "--date", "2026-03-01"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None and not marker.exists():
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, process.communicate()
    assert 0 < _drafts(engine) < ORGANISATIONS, "the preview was not killed mid-run"


def _crash_then_complete(tmp_path, url: str) -> None:
    _seed(url)
    config = tmp_path / "hub.toml"
    config.write_text(f'data_dir = "{tmp_path}"\ndatabase_url = "{url}"\n')
    engine = make_engine(url)
    try:
        _kill_mid_run(config, engine)
        with engine.connect() as conn:
            [batch] = conn.execute(select(BillingBatch.__table__)).all()
        assert batch.filled_at is None
        refused = _hub(config, "bill", "confirm", str(batch.id))
        assert refused.wait() == 2 and "interrupted" in refused.communicate()[1]

        again = _hub(config, "bill", "preview", "--date", "2026-03-01", "--limit", "1")
        out, err = again.communicate()
        assert again.returncode == 0, err
        assert f"Batch {batch.id} " in out and f"{ORGANISATIONS} invoice(s)" in out
        assert "already in" not in out  # its own drafts are not reported as skipped
        done = _hub(config, "bill", "confirm", str(batch.id))
        out, err = done.communicate()
        assert done.returncode == 0, err
        assert f"{ORGANISATIONS} invoice(s) finalised" in out
        with engine.connect() as conn:
            per_org = conn.execute(select(Invoice.organisation_id, func.count())
                                   .group_by(Invoice.organisation_id)).all()
            batches = conn.execute(select(func.count()).select_from(BillingBatch)).scalar()
        assert len(per_org) == ORGANISATIONS and {n for _, n in per_org} == {1}
        assert batches == 1
    finally:
        engine.dispose()


def test_a_killed_preview_is_completed_by_the_next_one_on_sqlite(tmp_path):
    _crash_then_complete(tmp_path, f"sqlite:///{tmp_path / 'hub.sqlite'}")


@pytest.mark.postgres
def test_a_killed_preview_is_completed_by_the_next_one_on_postgres(tmp_path, hub_postgres_url):
    _crash_then_complete(tmp_path, hub_postgres_url)


def test_a_batch_still_being_filled_is_left_to_its_preview(tmp_path):
    """An unfinished batch whose preview still runs (its lease is held) is neither completed
    nor rolled back by another preview; one whose preview is gone is rolled back when another
    date is previewed."""
    from hub.billing import preview
    from hub.billing.batch_lease import try_lease
    from hub.config import HubSettings
    from hub.db.engine import session_scope
    from hub.host.context import HubContext
    from hub.host.plugins import build_plugin_host
    from hub.testing.clock import FrozenClock

    url = f"sqlite:///{tmp_path / 'hub.sqlite'}"
    engine = make_engine(url)
    metadata.create_all(engine)
    ctx = HubContext(settings=HubSettings(data_dir=tmp_path), engine=engine,
                     plugins=build_plugin_host(load_entry_points=False),
                     clock=FrozenClock("2026-03-15T08:00:00+00:00"))
    with session_scope(engine) as s:
        running = BillingBatch(run_date=dt.date(2026, 2, 1))
        crashed = BillingBatch(run_date=dt.date(2026, 1, 1))
        s.add_all([running, crashed])
    with try_lease(engine, tmp_path, 1) as held:
        assert held
        assert preview(ctx, dt.date(2026, 3, 1)).batch_id is None
    with session_scope(engine) as s:
        statuses = {b.id: b.status.value for b in s.exec(select(BillingBatch)).scalars()}
    assert statuses == {1: "preview", 2: "discarded"}
    engine.dispose()
