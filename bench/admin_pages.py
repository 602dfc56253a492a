"""Web admin pages benchmark: each page's median latency on N organisations, and its ratio to a
bare endpoint (``GET /health``) measured in the same run, through the same in-process client.

    python bench/admin_pages.py                       # N = 1,000 and 10,000 (SQLite)
    python bench/admin_pages.py --n 10000 --repeat 15

Each N gets its own fresh SQLite database: N organisations with a monthly schedule of three
flat lines; one billing run confirmed (N final invoices, ledger debits posted) and a second one
previewed (N draft invoices waiting for approval); an audit row per state change. The pages
are requested as a logged-in admin would (session cookie), ``--repeat`` times each after one
warm-up request. The batch page and the invoice list are paged (50 invoices a page), so their
latency must not grow with N: compare their lines between the two N. Timings on a shared
2-core machine vary by +-20 % from run to run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient

from hub.access import add_user
from hub.host.context import HubContext
from hub.billing import confirm, preview
from hub.config import HubSettings
from hub.db.engine import make_engine, session_scope
from hub.db.models import Organisation, RecurringInvoice, RecurringLine, metadata
from hub.host.plugins import build_plugin_host
from hub.web.app import create_app

FIRST_RUN, SECOND_RUN = dt.date(2026, 4, 1), dt.date(2026, 5, 1)
SEED_CHUNK = 2000
PASSWORD = "bench password 1"


def seed(engine, n: int) -> None:
    """N organisations, each with a monthly schedule of three flat lines."""
    now = dt.datetime.now(dt.timezone.utc)
    with engine.begin() as conn:
        for start in range(1, n + 1, SEED_CHUNK):
            ids = range(start, min(start + SEED_CHUNK, n + 1))
            conn.execute(sa.insert(Organisation.__table__), [
                {"id": i, "name": f"Org {i:05d}", "currency": "USD", "billing_day": 1,
                 "auto_bill": False, "require_invoice_group": False, "active": True,
                 "attributes": {}, "created_at": now, "email": f"ap{i}@example.com"}
                for i in ids])
            conn.execute(sa.insert(RecurringInvoice.__table__), [
                {"id": i, "organisation_id": i, "name": "Managed services",
                 "frequency": "monthly", "interval": 1, "billing_day": 1,
                 "anchor_date": FIRST_RUN, "service_start": FIRST_RUN,
                 "covered_from": FIRST_RUN, "next_run_date": FIRST_RUN, "auto_bill": False,
                 "add_pending_ticket_charges": False, "ticket_status_filter": [],
                 "ticket_charge_order": "oldest_first", "active": True, "created_at": now}
                for i in ids])
            conn.execute(sa.insert(RecurringLine.__table__), [
                {"recurring_invoice_id": i, "position": pos, "line_type": "standard",
                 "description": desc, "quantity": Decimal(1), "unit_price": Decimal(price),
                 "tax_rate": Decimal(10), "counter_filters": {}, "active": True}
                for i in ids for pos, (desc, price) in enumerate(
                    (("Support plan", "199.00"), ("Backup", "45.00"), ("Helpdesk", "150.00")))])


def build(folder: Path, n: int) -> tuple[HubContext, int, int]:
    """The data set for ``n``: returns the context, the confirmed and the preview batch ids."""
    engine = make_engine(f"sqlite:///{folder / 'hub.sqlite'}")
    metadata.create_all(engine)
    seed(engine, n)
    ctx = HubContext(settings=HubSettings(data_dir=folder / "data"), engine=engine,
                     plugins=build_plugin_host(),
                     clock=lambda: dt.datetime(2026, 4, 25, 9, tzinfo=dt.timezone.utc))
    first = preview(ctx, FIRST_RUN).batch_id
    confirm(ctx, first)
    second = preview(ctx, SECOND_RUN).batch_id
    with session_scope(engine) as session:
        add_user(session, "bench", PASSWORD, "admin")
    return ctx, first, second


def logged_in(ctx: HubContext) -> TestClient:
    client = TestClient(create_app(ctx))
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      client.get("/admin/login").text).group(1)
    response = client.post("/admin/login", data={"username": "bench", "password": PASSWORD,
                                                  "csrf_token": token},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    return client


def median_ms(client: TestClient, path: str, repeat: int) -> float:
    """Median wall time of ``repeat`` GETs of ``path`` (after one warm-up), in ms."""
    response = client.get(path)
    if response.status_code != 200:
        raise SystemExit(f"{path} answered {response.status_code}: {response.text[:300]}")
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        client.get(path)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def pages(first: int, second: int) -> list[tuple[str, str]]:
    """(label, path) of every page measured."""
    return [
        ("bare endpoint GET /health", "/health"),
        ("home", "/admin/"),
        ("billing runs", "/admin/runs"),
        ("batch page (preview, page 1)", f"/admin/runs/{second}"),
        ("batch page (preview, last page)", f"/admin/runs/{second}?page=999999"),
        ("batch page (confirmed)", f"/admin/runs/{first}"),
        ("batch totals (loaded after the page)", f"/admin/runs/{second}/totals"),
        ("invoice list", "/admin/invoices"),
        ("invoice list (filter: open)", "/admin/invoices?status=open"),
        ("invoice", "/admin/invoices/1"),
        ("credit notes", "/admin/credit-notes"),
        ("payments", "/admin/payments"),
        ("organisations", "/admin/organisations"),
        ("organisation", "/admin/organisations/1"),
        ("reconciliation", "/admin/findings"),
        ("jobs", "/admin/jobs"),
        ("connections", "/admin/connections"),
        ("audit", "/admin/audit"),
        ("users", "/admin/users"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", default="1000,10000", help="organisation counts, comma-separated")
    parser.add_argument("--repeat", type=int, default=11, help="requests per page")
    args = parser.parse_args()
    results: dict[int, dict[str, float]] = {}
    for n in [int(x) for x in args.n.split(",")]:
        with tempfile.TemporaryDirectory(prefix="hub-bench-admin-") as tmp:
            started = time.perf_counter()
            ctx, first, second = build(Path(tmp), n)
            print(f"N = {n:,}: data set built in {time.perf_counter() - started:.1f} s "
                  f"({n:,} confirmed invoices, {n:,} drafts waiting)")
            client = logged_in(ctx)
            results[n] = {label: median_ms(client, path, args.repeat)
                          for label, path in pages(first, second)}
            bare = results[n]["bare endpoint GET /health"]
            print(f"{'page':<38} {'median ms':>10} {'x bare':>8}")
            for label, ms in results[n].items():
                print(f"{label:<38} {ms:>10.1f} {ms / bare:>8.1f}")
            ctx.engine.dispose()
    if len(results) > 1:
        small, large = min(results), max(results)
        print(f"\npaged pages, median ms at N = {small:,} and N = {large:,} (ratio):")
        for label in ("batch page (preview, page 1)", "batch page (preview, last page)",
                      "invoice list", "invoice list (filter: open)"):
            a, b = results[small][label], results[large][label]
            print(f"  {label:<34} {a:>8.1f} {b:>8.1f}  ({b / a:.2f})")


if __name__ == "__main__":
    main()
