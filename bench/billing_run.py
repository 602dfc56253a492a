"""Billing run benchmark: N organisations, 5 recurring lines each (2 flat, an asset counter, a
user counter and a vendor-usage counter), billed by ``preview`` + ``confirm``; compared with a
bare bulk insert of the same invoice and line rows into the same database, in the same run.

    python bench/billing_run.py --n 10000                 # SQLite and PostgreSQL
    python bench/billing_run.py --n 100000 --db sqlite --counter plugin
    python bench/billing_run.py --memory 10000,100000     # peak RSS per N, each in a child

Counters: ``--counter stored`` asks the built-in stored counter (it reads assets, contacts and
usage snapshots from the database, one query per counter line); ``--counter plugin`` asks a
throwaway plugin that answers the same counts from memory (the cost of the hooks themselves,
as with a connector that caches its source). Both go through the real counter hooks.

Prints invoices per second, the baseline's rows per second, and ratio = baseline time / billing
time (target ≥ 0.3 at N = 10,000); ``--memory`` prints the peak RSS of each N and their ratio
(target ≤ 1.5 from 10,000 to 100,000). Needs HUB_BENCH_POSTGRES_URL (default
postgresql://postgres@127.0.0.1:5432/test) for PostgreSQL: a throwaway database is created.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from decimal import Decimal

import sqlalchemy as sa

from hub.app import HubContext
from hub.billing import confirm, preview
from hub.config import HubSettings
from hub.db.engine import make_engine
from hub.db.models import (
    Asset, Contact, Invoice, InvoiceLine, Organisation, RecurringInvoice, RecurringLine,
    UsageSnapshot, metadata,
)
from hub.documents import Counted, CountedItem
from hub.hookspecs import hookimpl
from hub.plugins import DEFAULT_PLUGINS, build_plugin_host

RUN_DATE = dt.date(2026, 4, 1)
SEED_CHUNK = 2000
DEVICES, USERS = 3, 2


class MemoryCounters:
    """Answers every counter hook from memory: DEVICES devices, USERS users, 1 usage line."""

    @hookimpl
    def hub_count_assets(self, connection, query):
        org = query.organisation_id
        return Counted(source="bench", items=tuple(
            CountedItem(ref=f"dev:{org}:{i}", label=f"PC-{org}-{i}") for i in range(DEVICES)))

    @hookimpl
    def hub_count_licensed_users(self, connection, query):
        org = query.organisation_id
        return Counted(source="bench", items=tuple(
            CountedItem(ref=f"user:{org}:{i}", label=f"User {i}") for i in range(USERS)))

    @hookimpl
    def hub_fetch_vendor_usage(self, connection, query):
        org = query.organisation_id
        return Counted(source="bench", items=(
            CountedItem(ref=f"sub:{org}", label="M365 Business Premium", quantity="12"),))


def seed(engine, n: int, stored: bool) -> None:
    """N organisations with a schedule of 5 lines (and stored facts for the stored counter)."""
    now = dt.datetime.now(dt.timezone.utc)
    with engine.begin() as conn:
        for start in range(1, n + 1, SEED_CHUNK):
            ids = range(start, min(start + SEED_CHUNK, n + 1))
            conn.execute(sa.insert(Organisation.__table__), [
                {"id": i, "name": f"Org {i}", "currency": "USD", "billing_day": 1,
                 "auto_bill": False, "require_invoice_group": False, "active": True,
                 "attributes": {}, "created_at": now} for i in ids])
            conn.execute(sa.insert(RecurringInvoice.__table__), [
                {"id": i, "organisation_id": i, "name": "Managed services",
                 "frequency": "monthly", "interval": 1, "billing_day": 1,
                 "anchor_date": RUN_DATE, "service_start": RUN_DATE, "covered_from": RUN_DATE,
                 "next_run_date": RUN_DATE, "auto_bill": False,
                 "add_pending_ticket_charges": False, "ticket_status_filter": [],
                 "ticket_charge_order": "oldest_first", "active": True, "created_at": now}
                for i in ids])
            lines = []
            for i in ids:
                for pos, (kind, desc, price, filters) in enumerate((
                        ("standard", "Support plan", "199.00", {}),
                        ("standard", "Backup", "45.00", {}),
                        ("asset_counter", "Managed workstation", "30.00",
                         {"asset_type": "workstation"}),
                        ("user_counter", "Remote access", "7.00",
                         {"attributes.remote_access": True}),
                        ("vendor_usage", "Microsoft 365 BP", "22.00", {"sku": "M365-BP"}))):
                    lines.append({"recurring_invoice_id": i, "position": pos, "line_type": kind,
                                  "description": desc, "quantity": Decimal(1),
                                  "unit_price": Decimal(price), "tax_rate": Decimal(10),
                                  "counter_filters": filters, "active": True})
            conn.execute(sa.insert(RecurringLine.__table__), lines)
            if stored:
                conn.execute(sa.insert(Asset.__table__), [
                    {"organisation_id": i, "name": f"PC-{i}-{d}", "asset_type": "workstation",
                     "status": "active", "attributes": {}} for i in ids for d in range(DEVICES)])
                conn.execute(sa.insert(Contact.__table__), [
                    {"organisation_id": i, "name": f"User {i}-{u}",
                     "attributes": {"remote_access": True}} for i in ids for u in range(USERS)])
                conn.execute(sa.insert(UsageSnapshot.__table__), [
                    {"organisation_id": i, "source": "pax8", "external_id": f"sub-{i}",
                     "tenant_external_id": f"t-{i}", "sku": "M365-BP", "quantity": Decimal(12),
                     "period_start": RUN_DATE, "period_end": dt.date(2026, 4, 30),
                     "pulled_at": now} for i in ids])


def baseline(engine) -> tuple[float, int]:
    """Bulk-insert copies of every billed invoice and line (same tables, same columns), in one
    transaction; only the inserts are timed. Returns (seconds, CPU seconds, rows)."""
    it, lt = Invoice.__table__, InvoiceLine.__table__
    elapsed, cpu_used, rows, after, offset = 0.0, 0.0, 0, 0, 10_000_000
    with engine.begin() as conn:
        while True:
            invoices = [dict(r._mapping) for r in conn.execute(
                sa.select(it).where(it.c.id > after, it.c.id < offset)
                .order_by(it.c.id).limit(SEED_CHUNK))]
            if not invoices:
                break
            after = invoices[-1]["id"]
            lines = [dict(r._mapping) for r in conn.execute(
                sa.select(lt).where(lt.c.invoice_id.in_([i["id"] for i in invoices])))]
            for invoice in invoices:
                invoice.update(id=invoice["id"] + offset, number=None,
                               billing_key="copy:" + invoice["billing_key"])
            for line in lines:
                line.pop("id")
                line["invoice_id"] += offset
            began, cpu = time.perf_counter(), time.process_time()
            conn.execute(sa.insert(it), invoices)
            conn.execute(sa.insert(lt), lines)
            elapsed += time.perf_counter() - began
            cpu_used += time.process_time() - cpu
            rows += len(invoices) + len(lines)
    return elapsed, cpu_used, rows


def fresh_database(kind: str, workdir: str):
    """(url, cleanup) for a new empty database."""
    if kind == "sqlite":
        return f"sqlite:///{workdir}/bench-{uuid.uuid4().hex[:6]}.sqlite", lambda: None
    base = os.environ.get("HUB_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return sa.engine.make_url(base).set(database=name).render_as_string(False), drop


def run(kind: str, n: int, counter: str, workdir: str) -> dict:
    url, cleanup = fresh_database(kind, workdir)
    engine = make_engine(url)
    try:
        metadata.create_all(engine)
        stored = counter == "stored"
        seed(engine, n, stored)
        plugins = build_plugin_host(
            extra_plugins=[] if stored else [("bench-counters", MemoryCounters())],
            load_entry_points=False, defaults=DEFAULT_PLUGINS if stored else ())
        ctx = HubContext(settings=HubSettings(data_dir=workdir), engine=engine, plugins=plugins)
        began, cpu = time.perf_counter(), time.process_time()
        batch = preview(ctx, RUN_DATE)
        previewed = time.perf_counter()
        done = confirm(ctx, batch.batch_id)
        finished, billing_cpu = time.perf_counter(), time.process_time() - cpu
        assert batch.invoices == done.invoices == n, (batch, done)
        base_seconds, base_cpu, base_rows = baseline(engine)
        billing = finished - began
        return {"db": kind, "n": n, "counter": counter, "preview_s": previewed - began,
                "confirm_s": finished - previewed, "billing_s": billing,
                "invoices_per_s": n / billing, "baseline_s": base_seconds,
                "baseline_rows_per_s": base_rows / base_seconds,
                "ratio": base_seconds / billing, "cpu_ratio": base_cpu / billing_cpu,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    finally:
        engine.dispose()
        cleanup()


def report(r: dict, ledger: bool) -> None:
    print(f"{r['db']:<10} N={r['n']:<7} counter={r['counter']:<6} ledger={'on' if ledger else 'off'} "
          f"preview {r['preview_s']:.2f}s + confirm {r['confirm_s']:.2f}s = "
          f"{r['billing_s']:.2f}s -> {r['invoices_per_s']:,.0f} invoices/s | bare insert of "
          f"the same rows {r['baseline_s']:.2f}s ({r['baseline_rows_per_s']:,.0f} rows/s) | "
          f"ratio {r['ratio']:.2f} (client CPU time ratio {r['cpu_ratio']:.2f}) | "
          f"peak RSS {r['peak_rss_mb']:.0f} MB", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--counter", choices=["stored", "plugin", "both"], default="stored",
                        help="stored (default): the built-in stored counter a user runs")
    parser.add_argument("--memory", help="comma-separated Ns: peak RSS of each, in children")
    parser.add_argument("--no-ledger", action="store_true",
                        help="skip the ledger's debit posting (shows the billing core alone)")
    args = parser.parse_args()
    if args.no_ledger:
        import hub.billing.finalise

        hub.billing.finalise.ledger_poster = lambda: None
    if args.memory:
        sizes = [int(x) for x in args.memory.split(",")]
        for kind in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
            counters = ["stored", "plugin"] if args.counter == "both" else [args.counter]
            for counter in counters:
                peaks = []
                for n in sizes:
                    out = subprocess.run([sys.executable, __file__, "--n", str(n), "--db", kind,
                                          "--counter", counter]
                                         + (["--no-ledger"] if args.no_ledger else []), check=True,
                                         capture_output=True, text=True).stdout
                    print(out.strip(), flush=True)
                    peaks.append(float(out.rsplit("peak RSS", 1)[1].split()[0]))
                print(f"{kind} counter={counter}: peak RSS {' / '.join(f'{p:.0f}' for p in peaks)}"
                      f" MB; ratio last/first = {peaks[-1] / peaks[0]:.2f}", flush=True)
        return
    with tempfile.TemporaryDirectory() as workdir:
        for kind in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
            for counter in (["stored", "plugin"] if args.counter == "both" else [args.counter]):
                report(run(kind, args.n, counter, workdir), not args.no_ledger)


if __name__ == "__main__":
    main()
