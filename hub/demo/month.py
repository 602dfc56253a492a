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
import os
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

from rich.console import Console
from sqlalchemy import func, or_
from sqlmodel import Session, select

from hub.demo import sample as S
from hub.demo.sandboxes import ACCOUNTING, Sandboxes, running, specs_available, today
from hub.demo.setup import fresh_folder, wipe_database, write_config

__all__ = ["DemoResult", "run_demo", "MonthFigures"]

log = logging.getLogger("hub.demo")

_COUNTERS = ("asset_counter", "user_counter", "vendor_usage")
#: How long the demo waits for its jobs (pushes, charges, webhooks) to finish, per month.
DRAIN_TIMEOUT_SECONDS = 180.0
#: Job pacing for the demo (production defaults are in hub.jobs.settings).
DEMO_MAX_BACKOFF_SECONDS = 10.0
DEMO_DISPATCH_LEASE_SECONDS = 30.0


@dataclass
class MonthFigures:
    """What one month's billing run produced."""

    label: str
    run_date: dt.date
    batch_id: int
    invoices: int
    total: Decimal
    #: (organisation, line, quantity, change, line type) of every line that changed
    changes: list[tuple[str, str, str, str, str]] = field(default_factory=list)


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
        with self.console.status(text + " ..."):
            yield
        self.console.print(f"[green]✓[/] {text} [dim]({time.perf_counter() - started:.1f} s)[/]")

    def note(self, text: str) -> None:
        self.console.print(f"  [dim]{text}[/]")


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
        console.print("[yellow]warning:[/] vendor specs (../shared/specs) not found: the "
                      "accounting and Stripe sandboxes run without checking requests against them")
    with ExitStack() as stack:
        with steps.step(f"Starting the vendor sandboxes (NinjaOne, Autotask, Pax8, "
                        f"{ACCOUNTING[accounting]}, Stripe) with {organisations} sample "
                        "organisations"):
            boxes = stack.enter_context(running(sample, validate=validate, accounting=accounting))
        return _Month(directory, sample, boxes, steps, opening, billing, day).run()


class _Month:
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
        from hub.runtime_context import build_context

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
        finally:
            ctx.engine.dispose()
        return result

    def _write_config(self, folder: Path) -> Path:
        from hub.secrets import load_secret_box
        from hub_vendor_usage.sandbox import PRODUCTS, uuid_for

        box = load_secret_box(os.environ.get("HUB_SECRET_KEY"), folder)
        secret = lambda value: {"encrypted": box.encrypt(value)}  # noqa: E731
        b, u = self.boxes, self.boxes.urls
        sku_map = {uuid_for(2, i + 1): sku for i, (sku, _, _) in enumerate(PRODUCTS)}
        books = b.books.settings_for(u[self.accounting])
        hidden = ("client_secret", "webhook_key", "webhook_verifier_token")
        connections = [
            {"name": "ninja", "plugin": "ninjaone", "settings": {
                "base_url": u["ninjaone"], "client_id": b.ninja.client_id,
                "client_secret": secret(b.ninja.client_secret), "requests_per_minute": 100000}},
            {"name": "autotask", "plugin": "autotask", "settings": {
                "base_url": u["autotask"], "username": b.autotask.username,
                "secret": secret(b.autotask.secret),
                "integration_code": b.autotask.integration_code,
                "hourly_rate": str(S.PRICES["hourly"]), "requests_per_minute": 100000,
                "contact_udf_attributes": {"remote_access": "Remote Access"}}},
            {"name": "pax8", "plugin": "pax8", "settings": {
                "base_url": u["pax8"], "client_id": b.pax8.client_id,
                "client_secret": secret(b.pax8.client_secret), "requests_per_minute": 100000,
                "sku_map": sku_map}},
            {"name": self.accounting, "plugin": self.accounting, "settings": {
                **{k: v for k, v in books.items() if k not in hidden},
                **{k: secret(v) for k, v in books.items() if k in hidden}}},
            {"name": "stripe", "plugin": "stripe", "settings": {
                "api_key": secret(b.stripe.api_key),
                "webhook_secret": secret(b.stripe.webhooks.secret), "api_base": u["stripe"]}},
        ]
        return write_config(folder, connections, company="Sample MSP")

    def _consent(self) -> None:
        import httpx
        from urllib.parse import parse_qs, urlparse

        connection = self.ctx.connection(self.accounting)
        if self.accounting == "quickbooks":
            from hub_accounting_quickbooks.testing import consent

            consent(connection)
            return
        from hub_accounting_xero.auth import authorize_url, exchange_code

        with httpx.Client() as http:
            consent = http.get(authorize_url(connection), follow_redirects=False)
            query = parse_qs(urlparse(consent.headers["location"]).query)
            exchange_code(connection, http, query["code"][0], query["state"][0])

    @contextmanager
    def _runtime(self, config_path: Path) -> Iterator[Any]:
        """Workers, the dispatcher and the hub's web app (where Stripe posts webhooks)."""
        from hub.jobs.dispatcher import Dispatcher
        from hub.jobs.runtime import build_runtime
        from hub.jobs.settings import JobSettings
        from hub.testing.sandbox import SandboxServer
        from hub.web.app import create_app

        # A watched demo retries quickly: capped backoff and a short dispatch lease, so a slow
        # retry or a lost message heals within seconds instead of production's minutes.
        pace = {"HUB_JOBS_MAX_BACKOFF_SECONDS": str(DEMO_MAX_BACKOFF_SECONDS),
                "HUB_JOBS_DISPATCH_LEASE_SECONDS": str(DEMO_DISPATCH_LEASE_SECONDS)}
        runtime = build_runtime(self.ctx, settings=JobSettings(
            max_backoff_seconds=DEMO_MAX_BACKOFF_SECONDS,
            dispatch_lease_seconds=DEMO_DISPATCH_LEASE_SECONDS))
        workers: list[subprocess.Popen] = []
        try:
            if runtime.in_process:
                runtime.start_worker()
            else:
                # Redis: separate worker processes, as in production (they do not dispatch;
                # this process's dispatcher does).
                for _ in range(2):
                    workers.append(subprocess.Popen(
                        [sys.executable, "-m", "hub.cli.main", "--config", str(config_path),
                         "worker", "--no-dispatch"], env={**os.environ, **pace},
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
                self.steps.note(f"started {len(workers)} `hub worker` processes "
                                f"(pids {', '.join(str(w.pid) for w in workers)})")
            self.dispatcher = Dispatcher(runtime)
            with SandboxServer(create_app(self.ctx, runtime)) as web:
                self.boxes.stripe.webhooks.url = f"{web.url}/webhooks/stripe"
                self.steps.note(f"hub web app on {web.url} receives Stripe's webhooks")
                yield runtime
        finally:
            runtime.close()
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait(timeout=30)

    # ------------------------------------------------------------------ the months
    def _pull(self, month_start: dt.date, *, create: bool, full: bool) -> None:
        from hub.pulls import month_of, pull_by_name

        period = month_of(month_start)
        for name in ("ninja", "autotask", "pax8"):
            report = pull_by_name(self.ctx, name, period=period, full=full,
                                  create_organisations=create and name == "ninja")
            self.steps.note(report.summary())
            if name == "ninja" and create:
                self._map_sources()

    def _map_sources(self) -> None:
        """The sample's companies are the same customers in every system: map Autotask's and
        Pax8's companies onto the organisations NinjaOne's pull created (what `hub mapping set`
        does)."""
        from hub.db.engine import session_scope
        from hub.db.models import OrganisationMapping
        from hub_vendor_usage.sandbox import uuid_for

        with session_scope(self.ctx.engine) as session:
            ids = {int(row.external_id): row.organisation_id for row in session.exec(
                select(OrganisationMapping).where(OrganisationMapping.connection == "ninja"))}
            for org in self.sample.organisations:
                hub_id = ids[org.ninja_id]
                self.result.organisation_ids[org.number] = hub_id
                session.add(OrganisationMapping(connection="autotask",
                                                external_id=str(org.autotask_id),
                                                external_name=org.name, organisation_id=hub_id))
                session.add(OrganisationMapping(connection="pax8",
                                                external_id=uuid_for(1, org.number),
                                                external_name=org.name, organisation_id=hub_id))

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
        from hub.pulls import month_of, pull_by_name

        with self.steps.step("Pax8's licence counts move after billing; pulling Pax8 again"):
            self.boxes.after_billing()
            pull_by_name(self.ctx, "pax8", period=month_of(self.billing), full=True)
        with self.steps.step(f"Reconciliation: hub against {self.books_label}, Stripe, Pax8, "
                             "time and devices"):
            self.result.leaks = self._reconcile()

    # ------------------------------------------------------------------ billing set-up
    def _setup_billing(self) -> None:
        from hub.billing.catalogue import add_product
        from hub.billing.contracts import create_contract
        from hub.billing.recurring import (
            add_recurring_line, create_group, create_recurring, set_master,
        )
        from hub.db.engine import session_scope

        P, ids = S.PRICES, self.result.organisation_ids
        with session_scope(self.ctx.engine) as session:
            add_product(session, "DEVICE", "Managed device", P["device"])
            add_product(session, "USER", "Per-user support", P["user"])
            add_product(session, "REMOTE", "Remote access user", P["remote_user"])
            add_product(session, "M365-BP", "Microsoft 365 Business Premium", P["m365"])
            add_product(session, "DEF-EP", "Microsoft Defender for Endpoint P1", P["defender"])
            add_product(session, "HELPDESK", "Helpdesk (flat)", P["helpdesk"])
            add_product(session, "BACKUP", "Cloud backup (flat)", P["backup"])
            for org in self.sample.organisations:
                hub_id = ids[org.number]
                if org.number == S.CONTRACT_ORG:
                    contract = create_contract(session, hub_id, "Managed services contract",
                                               self.opening, cycles=12,
                                               auto_charge=org.card is not None, auto_sync=True)
                    add_recurring_line(session, contract_id=contract.id, line_type="standard",
                                       description="Managed services (contract fee)",
                                       unit_price=P["contract_fee"])
                    add_recurring_line(session, contract_id=contract.id,
                                       line_type="asset_counter", product_code="DEVICE",
                                       filters={})
                    add_recurring_line(session, contract_id=contract.id,
                                       line_type="vendor_usage", product_code="M365-BP",
                                       filters={"sku": "M365-BP"})
                    continue
                group_id = None
                if org.number == S.GROUP_ORG:
                    group_id = create_group(session, hub_id, "Monthly services", self.opening).id
                schedule = create_recurring(
                    session, hub_id, self.opening, name="Managed services", first_run="start",
                    auto_bill=org.card is not None, group_id=group_id,
                    add_pending_ticket_charges=org.number != S.NO_TICKET_CHARGES_ORG)
                filters = ({"asset_type": ["workstation"]}
                           if org.number == S.WORKSTATIONS_ONLY_ORG else {})
                add_recurring_line(session, recurring_id=schedule.id, line_type="asset_counter",
                                   product_code="DEVICE", filters=filters)
                add_recurring_line(session, recurring_id=schedule.id, line_type="user_counter",
                                   product_code="USER", filters={})
                add_recurring_line(session, recurring_id=schedule.id, line_type="user_counter",
                                   product_code="REMOTE",
                                   filters={"attributes.remote_access": True})
                add_recurring_line(session, recurring_id=schedule.id, line_type="vendor_usage",
                                   product_code="M365-BP", filters={"sku": "M365-BP"})
                add_recurring_line(session, recurring_id=schedule.id, line_type="standard",
                                   product_code="HELPDESK")
                if group_id is not None:
                    backup = create_recurring(session, hub_id, self.opening, name="Backup",
                                              first_run="start", auto_bill=org.card is not None,
                                              group_id=group_id)
                    add_recurring_line(session, recurring_id=backup.id, line_type="standard",
                                       product_code="BACKUP")
                    set_master(session, group_id, schedule.id)
        self._store_cards()

    def _store_cards(self) -> None:
        from hub.db.engine import session_scope
        from hub.payment_profiles import CardDetails, attach_profile
        from hub_payments_stripe import profiles

        connection = self.ctx.connection("stripe")
        stored = 0
        for org in self.sample.organisations:
            if org.card is None:
                continue
            hub_id = self.result.organisation_ids[org.number]
            customer = profiles.ensure_customer(connection, hub_id, name=org.name)
            card = profiles.attach_payment_method(connection, customer, org.card)
            with session_scope(self.ctx.engine) as session:
                attach_profile(session, organisation_id=hub_id, connection="stripe",
                               customer_ref=customer, payment_method_ref=card.payment_method_ref,
                               card=CardDetails(card.brand, card.last4, card.exp_month,
                                                card.exp_year), auto_bill=True)
            stored += 1
        others = len(self.sample.organisations) - stored
        self.steps.note(f"{stored} stored cards with auto-bill (one of them declines); "
                        f"{others} organisation{'s' if others != 1 else ''} pay by bank transfer")

    def _charge_time(self) -> None:
        from hub.billing.catalogue import charge_labor
        from hub.db.engine import session_scope
        from hub.db.models import LaborStatus, TicketCharge

        with session_scope(self.ctx.engine) as session:
            pending = session.exec(select(TicketCharge).where(
                TicketCharge.labor_status == LaborStatus.not_charged)).all()
            for charge in pending:
                charge_labor(session, charge.id)
        self.steps.note(f"{len(pending)} billable time entries charged")

    def _prebill(self) -> None:
        from hub.ledger._base import ledger_session
        from hub.ledger.prebills import add_wip, attach_wip, create_prebill

        spec = S.PREBILL
        hub_id = self.result.organisation_ids[S.PREBILL_ORG]
        with ledger_session(self.ctx) as session:
            prebill = create_prebill(session, hub_id, project=spec["project"],
                                     stage=spec["stage"], stage_fee=spec["stage_fee"],
                                     percent=spec["percent"], issue_date=self.billing)
            for value in spec["wip"]:
                add_wip(session, hub_id, project=spec["project"], stage=spec["stage"],
                        date=self.billing, value=value, description="cabling work")
            attach_wip(session, prebill.id, "all", "exact", when=self.ctx.clock())
            self.result.prebill_total = prebill.amount
        self.steps.note(f"pre-bill {spec['project']} / {spec['stage']}: "
                        f"{prebill.amount:.2f} invoiced, WIP "
                        f"{sum(spec['wip']):.2f} attached")

    # ------------------------------------------------------------------ run, push, charge
    def _bill(self, label: str, run_date: dt.date) -> None:
        from hub.billing import confirm, preview

        with self.steps.step(f"Billing preview for the {label}"):
            batch = preview(self.ctx, run_date)
            figures = self._batch_figures(label, run_date, batch.batch_id)
        self.steps.note(f"{figures.invoices} draft invoices, {figures.total:,.2f} USD")
        if figures.changes:
            self._show_changes(figures)
        with self.steps.step(f"Confirming the {label}"):
            confirm(self.ctx, batch.batch_id)
            held = self._hold_charges()
        with self.steps.step(f"Pushing the invoices to {self.books_label}"):
            self._drain()
        with self.steps.step(f"Auto-charging {len(held)} invoices through Stripe; webhooks back "
                             f"into the hub; payments pushed to {self.books_label}"):
            self._release(held)
            self._drain()
        self.result.months.append(figures)

    def _batch_figures(self, label: str, run_date: dt.date, batch_id: int) -> MonthFigures:
        from hub.db.models import Invoice, InvoiceLine, Organisation

        with Session(self.ctx.engine) as session:
            invoices = session.exec(select(Invoice).where(Invoice.batch_id == batch_id)).all()
            figures = MonthFigures(label, run_date, batch_id, len(invoices),
                                   sum((i.total for i in invoices), Decimal("0")))
            names = {o.id: o.name for o in session.exec(select(Organisation))}
            rows = session.exec(select(InvoiceLine, Invoice.organisation_id)
                                .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
                                .where(Invoice.batch_id == batch_id,
                                       InvoiceLine.change.is_not(None),
                                       InvoiceLine.change != "")
                                .order_by(Invoice.id, InvoiceLine.position)).all()
            # Counter lines first (devices, people, licences): the changes a biller checks.
            rows = sorted(rows, key=lambda r: _COUNTERS.index(r[0].line_type)
                          if r[0].line_type in _COUNTERS else len(_COUNTERS))
            figures.changes = [(names.get(org_id, str(org_id)), line.description,
                                f"{line.quantity.normalize():f}", line.change, line.line_type)
                               for line, org_id in rows if line.change != "first invoice"]
        return figures

    def _show_changes(self, figures: MonthFigures) -> None:
        from rich.table import Table

        # A few of each kind of line: devices, people, licences, time.
        shown, per_kind = [], {}
        for row in figures.changes:
            per_kind[row[4]] = per_kind.get(row[4], 0) + 1
            if per_kind[row[4]] <= 3:
                shown.append(row)
        table = Table(title=f"What changed since last month ({len(figures.changes)} lines; "
                            f"{len(shown)} of them)", title_justify="left")
        for column in ("organisation", "line", "quantity", "change"):
            table.add_column(column)
        for row in shown:
            table.add_row(*row[:4])
        self.steps.console.print(table)

    def _hold_charges(self) -> list[int]:
        """Let the invoices reach Xero before their cards are charged: a payment pushed before
        its invoice is at Xero waits a minute for it (the Xero plugin's rule), which a watching
        newcomer should not sit through. Returns the held charge rows."""
        from sqlalchemy import update

        from hub.db.engine import session_scope
        from hub.db.models import OutboxEntry
        from hub.db.models.sync import Effect, OutboxStatus

        later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
        with session_scope(self.ctx.engine) as session:
            ids = list(session.exec(select(OutboxEntry.id).where(
                OutboxEntry.effect == Effect.charge, OutboxEntry.status == OutboxStatus.pending,
                OutboxEntry.available_at <= dt.datetime.now(dt.timezone.utc))).all())
            if ids:
                session.execute(update(OutboxEntry).where(OutboxEntry.id.in_(ids))
                                .values(available_at=later))
        return ids

    def _release(self, ids: list[int]) -> None:
        """Make the held charge rows due now."""
        from sqlalchemy import update

        from hub.db.engine import session_scope
        from hub.db.models import OutboxEntry

        if ids:
            with session_scope(self.ctx.engine) as session:
                session.execute(update(OutboxEntry).where(OutboxEntry.id.in_(ids))
                                .values(available_at=dt.datetime.now(dt.timezone.utc)))

    def _drain(self) -> None:
        """Dispatch the outbox until every due push and charge is done and every webhook the
        Stripe sandbox sent has been applied."""
        from hub.db.models import InboxEvent, OutboxEntry
        from hub.db.models.inbox import InboxStatus
        from hub.db.models.sync import OutboxStatus

        deadline = time.monotonic() + DRAIN_TIMEOUT_SECONDS
        quiet = 0
        while True:
            sent = self.dispatcher.dispatch_once()
            self.boxes.stripe.webhooks.join()
            now = dt.datetime.now(dt.timezone.utc)
            with Session(self.ctx.engine) as session:
                busy = session.exec(select(func.count()).select_from(OutboxEntry).where(or_(
                    OutboxEntry.status == OutboxStatus.dispatched,
                    (OutboxEntry.status == OutboxStatus.pending)
                    & (OutboxEntry.available_at <= now)))).one()
                inbox = session.exec(select(func.count()).select_from(InboxEvent).where(
                    InboxEvent.status == InboxStatus.pending)).one()
            log.debug("drain: sent %s, outbox busy %s, inbox pending %s", sent, busy, inbox)
            quiet = quiet + 1 if not (sent or busy or inbox) else 0
            if quiet >= 2:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"jobs still running after {DRAIN_TIMEOUT_SECONDS:.0f} s "
                                   f"({busy} outbox rows, {inbox} webhooks); see "
                                   "`hub jobs list`")
            time.sleep(0.2)

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
