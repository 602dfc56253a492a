"""The demo month's plumbing: its ``hub.toml``, the accounting consent (Xero or QuickBooks), the job runtime (threads or
``hub worker`` processes), waiting for jobs to finish, and the pulls with their mappings.

:class:`RuntimeSteps` is a part of the demo month (:mod:`hub.demo.month`); it uses the month's
state (``self.sample``, ``self.boxes``, ``self.steps``, ``self.ctx``, ...).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import func, or_
from sqlmodel import Session, select

from hub.demo import sample as S
from hub.demo.setup import write_config

__all__ = ["RuntimeSteps", "DRAIN_TIMEOUT_SECONDS", "DEMO_MAX_BACKOFF_SECONDS",
           "DEMO_DISPATCH_LEASE_SECONDS"]

#: How long the demo waits for its jobs (pushes, charges, webhooks) to finish, per month.
DRAIN_TIMEOUT_SECONDS = 180.0
#: Job pacing for the demo (production defaults are in hub.jobs.settings).
DEMO_MAX_BACKOFF_SECONDS = 10.0
DEMO_DISPATCH_LEASE_SECONDS = 30.0

log = logging.getLogger("hub.demo")


class RuntimeSteps:
    """Configuration, runtime and pulls of the demo month."""

    def _write_config(self, folder: Path) -> Path:
        from hub.host.secrets import load_secret_box
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
                "integration_code": secret(b.autotask.integration_code),
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
        from hub.jobs.assemble import build_runtime
        from hub.jobs.settings import JobSettings
        from hub.testing.sandbox import SandboxServer
        from hub.web.app import create_app

        # A watched demo retries quickly: capped backoff and a short dispatch lease, so a slow
        # retry or a lost message heals within seconds instead of production's minutes.
        pace = {"HUB_JOBS_MAX_BACKOFF_SECONDS": str(DEMO_MAX_BACKOFF_SECONDS),
                "HUB_JOBS_DISPATCH_LEASE_SECONDS": str(DEMO_DISPATCH_LEASE_SECONDS)}
        runtime = build_runtime(self.ctx, settings=JobSettings.from_environment(
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

    def _pull(self, month_start: dt.date, *, create: bool, full: bool) -> None:
        from hub.sources.pulling import month_of, pull_by_name

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
