"""The demo's month, step by step, exactly as an MSP would run it.

1. write ``hub.toml`` (connections pointing at the sandboxes, secrets encrypted with the
   installation key), ``db upgrade``, consent to the accounting sandbox (Xero, or QuickBooks
   Online with ``accounting="quickbooks"``);
2. the **opening month**: pull NinjaOne (companies imported as organisations), map the Autotask
   and Pax8 companies onto them, pull those; set up products, recurring invoices with every line
   type, the invoice group, the billing contract and stored cards; bill, push, charge;
3. the **billing month**: the sources move on (devices added and retired, remote access granted
   and revoked, licence counts changed); pull again, a technician charges the time, a pre-bill
   is raised with WIP attached; preview (every line says what changed), confirm, push to
   accounting, auto-charge through Stripe, Stripe's webhooks back into the hub, payments pushed
   to accounting;
4. Pax8's counts move after billing; the reconciliation report finds every planted leak.

Jobs run as in production: outbox rows, the dispatcher, worker threads (or, with
``HUB_BROKER_URL``, ``hub worker`` processes on Redis), Stripe's webhooks through the hub's web
app on a local port.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

from rich.console import Console
from rich.markup import escape
from sqlalchemy import func
from sqlmodel import Session, select

from hub.demo import sample as S
from hub.demo.month_billing import BillingSteps, MonthFigures
from hub.demo.month_runtime import RuntimeSteps
from hub.demo.sandboxes import ACCOUNTING, Sandboxes, running, specs_available, today
from hub.demo.setup import fresh_folder, wipe_database

__all__ = ["DemoResult", "run_demo", "MonthFigures"]

log = logging.getLogger("hub.demo")

@dataclass
class DemoResult:
    """Everything the summary shows and the test checks."""

    directory: Path
    config_path: Path
    database_url: str
    broker: str
    sample: S.Sample
    organisation_ids: dict[int, int] = field(default_factory=dict)   # sample number -> hub id
    months: list[MonthFigures] = field(default_factory=list)
    prebill_total: Decimal = Decimal("0")
    ledger_invoices: int = 0
    ledger_total: Decimal = Decimal("0")
    accounting: str = "xero"                                         # connection type and name
    pushed: dict[str, int] = field(default_factory=dict)            # kind -> documents there
    #: the accounting sandbox's documents, with Xero's keys (``Total``, ``Amount``) for both
    xero_invoices: list[dict[str, Any]] = field(default_factory=list)
    xero_payments: list[dict[str, Any]] = field(default_factory=list)
    stripe_charges: list[dict[str, Any]] = field(default_factory=list)
    charged: int = 0
    charged_total: Decimal = Decimal("0")
    declined: int = 0
    webhooks: int = 0                                                # accepted by the hub
    webhooks_refused: int = 0
    failed_jobs: int = 0
    leaks: list[Any] = field(default_factory=list)                   # reconcile Differences
    api_docs_url: str = "http://127.0.0.1:8765/docs"


class _Steps:
    """Rich status lines: one per step, with a tick when it is done."""

    def __init__(self, console: Console) -> None:
        self.console = console

    @contextmanager
    def step(self, text: str) -> Iterator[None]:
        started = time.perf_counter()
        with self.console.status(escape(text) + " ..."):
            yield
        self.console.print(f"[green]✓[/] {escape(text)} "
                           f"[dim]({time.perf_counter() - started:.1f} s)[/]", markup=True)

    def note(self, text: str) -> None:
        self.console.print(f"  [dim]{escape(text)}[/]", markup=True)


def run_demo(directory: Path = Path("demo-data"), organisations: int = 50, *,
             console: Console | None = None, seed: int = 2026,
             accounting: str = "xero") -> DemoResult:
    """Run the whole month in ``directory`` (deleted and recreated first), pushing to
    ``accounting`` (a key of :data:`ACCOUNTING`); see module doc."""
    if accounting not in ACCOUNTING:
        raise ValueError(f"unknown accounting system {accounting!r}; use one of {sorted(ACCOUNTING)}")
    console = console or Console()
    steps = _Steps(console)
    day = today()
    sample = S.generate(organisations, seed=seed, today=day)
    opening, billing = S.months_for(day)
    validate = specs_available()
    if not validate:
        console.print("[yellow]warning:[/] a vendor spec named by HUB_XERO_SPEC, "
                      "HUB_QUICKBOOKS_XSD_DIR or HUB_STRIPE_SPEC is not there: the accounting and "
                      "Stripe sandboxes run without checking requests against the specs",
                      markup=True)
    with ExitStack() as stack:
        with steps.step(f"Starting the vendor sandboxes (NinjaOne, Autotask, Pax8, "
                        f"{ACCOUNTING[accounting]}, Stripe) with {organisations} sample "
                        "organisations"):
            boxes = stack.enter_context(running(sample, validate=validate, accounting=accounting))
        return _Month(directory, sample, boxes, steps, opening, billing, day).run()


class _Month(RuntimeSteps, BillingSteps):
    """One demo run: the steps of the module docstring, against running sandboxes."""

    def __init__(self, directory: Path, sample: S.Sample, boxes: Sandboxes, steps: _Steps,
                 opening: dt.date, billing: dt.date, day: dt.date) -> None:
        self.directory, self.sample, self.boxes, self.steps = directory, sample, boxes, steps
        self.opening, self.billing, self.day = opening, billing, day
        self.accounting = boxes.accounting
        self.books_label = ACCOUNTING[boxes.accounting]

    # ------------------------------------------------------------------ set-up
    def run(self) -> DemoResult:
        from hub.config import load_settings
        from hub.db.migrate import upgrade
        from hub.host.context import build_context

        steps = self.steps
        with steps.step(f"Writing {self.directory}/hub.toml and migrating the database"):
            folder = fresh_folder(self.directory)
            config_path = self._write_config(folder)
            settings = load_settings(config_path)
            wipe_database(settings.resolved_database_url)
            upgrade(settings.resolved_database_url)
            self.ctx = ctx = build_context(settings)
        result = DemoResult(folder, config_path, settings.resolved_database_url,
                            "redis" if settings.broker_url else "in-process", self.sample,
                            api_docs_url=f"http://{settings.web.host}:{settings.web.port}/docs",
                            accounting=self.accounting)
        self.result = result
        steps.note(f"database {_safe_url(settings.resolved_database_url)}; "
                   f"{result.broker} job queue")
        with steps.step(f"Connecting to {self.books_label} (OAuth consent against the sandbox)"):
            self._consent()
        try:
            with ExitStack() as stack:
                self.runtime = stack.enter_context(self._runtime(config_path))
                self._month0()
                self._month1()
                self._after()
                self._figures()
            from hub.demo.admin_users import create_demo_users

            create_demo_users(ctx.engine)  # so the summary's web admin login works
        finally:
            ctx.engine.dispose()
        return result

    # ------------------------------------------------------------------ the months
    def _month0(self) -> None:
        steps = self.steps
        label = self.opening.strftime("%B %Y")
        with steps.step(f"Opening month {label}: pulling NinjaOne, Autotask and Pax8"):
            self._pull(self.opening, create=True, full=True)
        with steps.step("Setting up products, recurring invoices (every line type), an invoice "
                        "group, a billing contract and stored cards"):
            self._setup_billing()
        self._bill(f"opening month {label}", self.opening)

    def _month1(self) -> None:
        steps = self.steps
        label = self.billing.strftime("%B %Y")
        self.boxes.set_month(1)
        with steps.step(f"Billing month {label}: pulling the sources again (devices, users and "
                        "licences changed)"):
            self._pull(self.billing, create=False, full=True)
        with steps.step("A technician charges the ticket time; a pre-bill with WIP attached"):
            self._charge_time()
            self._prebill()
        self._bill(f"billing month {label}", self.billing)

    def _after(self) -> None:
        from hub.sources.pulling import month_of, pull_by_name

        with self.steps.step("Pax8's licence counts move after billing; pulling Pax8 again"):
            self.boxes.after_billing()
            pull_by_name(self.ctx, "pax8", period=month_of(self.billing), full=True)
        with self.steps.step(f"Reconciliation: hub against {self.books_label}, Stripe, Pax8, "
                             "time and devices"):
            self.result.leaks = self._reconcile()

    # ------------------------------------------------------------------ billing set-up
    # ------------------------------------------------------------------ run, push, charge
    # ------------------------------------------------------------------ the end
    def _reconcile(self) -> list[Any]:
        from hub.reconcile import SECTIONS, Options, reconcile

        return list(reconcile(self.ctx, list(SECTIONS), Options(today=self.day)))

    def _figures(self) -> None:
        from hub.db.models import Invoice, JobRecord
        from hub.db.models.jobs import JobStatus
        from hub.db.models.invoices import InvoiceStatus

        result, ctx = self.result, self.ctx
        with Session(ctx.engine) as session:
            final = session.exec(select(Invoice).where(
                Invoice.status != InvoiceStatus.draft,
                Invoice.status != InvoiceStatus.deleted)).all()
            result.ledger_invoices = len(final)
            result.ledger_total = sum((i.total for i in final), Decimal("0"))
            for invoice in final:
                charge = (invoice.extra_fields or {}).get("auto_charge")
                if charge and charge.get("status") == "declined":
                    result.declined += 1
            result.failed_jobs = session.exec(select(func.count()).select_from(JobRecord).where(
                JobRecord.status == JobStatus.failed)).one()
        books = self.boxes.books.books()
        if self.accounting == "quickbooks":
            result.xero_invoices = [{**v, "Total": v["TotalAmt"]} for v in
                                    books.invoices().values()]
            result.xero_payments = [{**v, "Amount": v["TotalAmt"]} for v in
                                    books.payments().values()]
        else:
            result.xero_invoices = _xero_list(books, "invoices")
            result.xero_payments = _xero_list(books, "payments")
        result.pushed = {"invoices": len(result.xero_invoices),
                         "payments": len(result.xero_payments)}
        with self.boxes.stripe.lock:
            result.stripe_charges = [dict(c) for c in self.boxes.stripe.store["charge"].values()]
        paid = [c for c in result.stripe_charges if c.get("status") == "succeeded"]
        result.charged = len(paid)
        result.charged_total = sum((Decimal(c["amount"]) / 100 for c in paid), Decimal("0"))
        posted = self.boxes.stripe.webhooks.posted
        result.webhooks = sum(1 for _, status in posted if status == 200)
        result.webhooks_refused = len(posted) - result.webhooks


def _xero_list(books: Any, kind: str) -> list[dict[str, Any]]:
    """The Xero sandbox's stored documents of ``kind`` as plain dicts."""
    store = getattr(books, kind)
    values = store.values() if isinstance(store, dict) else store
    return [dict(v) if isinstance(v, dict) else vars(v) for v in values]


def _safe_url(url: str) -> str:
    """A database URL without its password."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
