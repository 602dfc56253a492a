"""`hub demo`'s month, end to end with 8 organisations: the ledger, the Xero sandbox's documents
and the Stripe sandbox's charges match totals worked out here from the sample data alone (the
catalogue prices, the devices, people, licences and time each organisation has), and the
reconciliation finds exactly the planted leaks."""

from __future__ import annotations

import io
from collections import defaultdict
from decimal import Decimal

import pytest
from rich.console import Console
from sqlmodel import Session, create_engine, select

import hub_ninjaone.plugin as ninjaone_plugin
from hub.db.models import Invoice
from hub.db.models.invoices import InvoiceStatus
from hub.demo import run_demo
from hub.demo import sample as S
from hub.demo.summary import print_summary

ORGS = 8


def _workstation(device: S.Device) -> bool:
    record = ninjaone_plugin.asset_record({
        "id": device.ninja_id, "nodeClass": device.node_class, "displayName": device.name,
        "organizationId": 1})
    return record.asset_type == "workstation"


def expected_invoices(sample: S.Sample) -> dict[tuple[int, int], Decimal]:
    """(organisation number, month 0|1) -> what its recurring invoices / contract total."""
    P = S.PRICES
    out: dict[tuple[int, int], Decimal] = {}
    for org in sample.organisations:
        for month in (0, 1):
            devices = org.devices_in(month)
            if org.number == S.WORKSTATIONS_ONLY_ORG:
                devices = [d for d in devices if _workstation(d)]
            m365 = org.licence("M365-BP").quantity[month]
            if org.number == S.CONTRACT_ORG:
                out[(org.number, month)] = (P["contract_fee"] + len(devices) * P["device"]
                                            + m365 * P["m365"])
                continue
            total = (len(devices) * P["device"] + len(org.people) * P["user"]
                     + len(org.remote_users_in(month)) * P["remote_user"]
                     + m365 * P["m365"] + P["helpdesk"])
            if org.number == S.GROUP_ORG:
                total += P["backup"]
            if month == 1 and org.number != S.NO_TICKET_CHARGES_ORG:
                total += sum((e.hours * P["hourly"] for e in org.time if e.billable),
                             Decimal("0"))
            out[(org.number, month)] = total
    return out


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    for name in ("HUB_DATABASE_URL", "HUB_BROKER_URL", "HUB_CONFIG", "HUB_SECRET_KEY"):
        mp.delenv(name, raising=False)
    out = io.StringIO()
    console = Console(file=out, width=120)
    folder = tmp_path_factory.mktemp("demo") / "demo-data"
    result = run_demo(folder, ORGS, console=console)
    print_summary(result, console)
    yield result, out.getvalue()
    mp.undo()


def test_the_ledger_bills_what_the_sample_holds(demo):
    result, _ = demo
    sample = result.sample
    expected = expected_invoices(sample)
    number_of = {hub_id: number for number, hub_id in result.organisation_ids.items()}
    opening, billing = result.months[0].run_date, result.months[1].run_date
    engine = create_engine(result.database_url)
    with Session(engine) as session:
        invoices = session.exec(select(Invoice).where(Invoice.status != InvoiceStatus.draft,
                                                      Invoice.status != InvoiceStatus.deleted)
                                ).all()
    engine.dispose()
    billed: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    prebills = []
    for invoice in invoices:
        if invoice.kind.value == "one_time":
            prebills.append(invoice)
            continue
        month = {opening: 0, billing: 1}[invoice.period_start.replace(day=1)]
        billed[(number_of[invoice.organisation_id], month)] += invoice.total
    assert dict(billed) == expected
    prebill = S.PREBILL["stage_fee"] * S.PREBILL["percent"] / 100
    assert [(number_of[i.organisation_id], i.total) for i in prebills] == \
        [(S.PREBILL_ORG, prebill)]
    assert result.ledger_total == sum(expected.values()) + prebill
    # the invoice group's two agreements were billed, each month
    group = [i for i in invoices if number_of[i.organisation_id] == S.GROUP_ORG]
    assert len(group) == 4


def test_xero_holds_every_invoice_and_every_card_payment(demo):
    result, _ = demo
    assert len(result.xero_invoices) == result.ledger_invoices == 2 * ORGS + 2 + 1
    assert sum(Decimal(str(i["Total"])) for i in result.xero_invoices) == result.ledger_total
    succeeded = [c for c in result.stripe_charges if c["status"] == "succeeded"]
    assert len(result.xero_payments) == len(succeeded)
    assert sum(Decimal(str(p["Amount"])) for p in result.xero_payments) == \
        sum(Decimal(c["amount"]) / 100 for c in succeeded)


def test_stripe_charged_every_auto_billed_card_and_the_bad_card_declined(demo):
    result, _ = demo
    expected = expected_invoices(result.sample)
    carded = {o.number for o in result.sample.organisations if o.card == "pm_card_visa"}
    group_invoices = 2  # the invoice group bills two invoices a month, each charged
    want = sorted(expected[(n, m)] - (S.PRICES["backup"] if n == S.GROUP_ORG else 0)
                  for n in carded for m in (0, 1)) + [S.PRICES["backup"]] * group_invoices
    succeeded = sorted(Decimal(c["amount"]) / 100 for c in result.stripe_charges
                       if c["status"] == "succeeded")
    assert succeeded == sorted(want)
    assert result.charged_total == sum(want)
    declined = [c for c in result.stripe_charges if c["status"] == "failed"]
    assert len(declined) == result.declined == 2
    assert sorted(Decimal(c["amount"]) / 100 for c in declined) == \
        sorted(expected[(S.DECLINING_ORG, m)] for m in (0, 1))
    # every Stripe event came back through the hub's webhook endpoint and was accepted
    assert result.webhooks > 0 and result.webhooks_refused == 0


def test_reconciliation_finds_exactly_the_planted_leaks(demo):
    result, _ = demo
    sample = result.sample
    number_of = {hub_id: number for number, hub_id in result.organisation_ids.items()}
    found = sorted((d.kind, number_of[d.organisation_id]) for d in result.leaks)
    five = sample.organisation(S.NO_TICKET_CHARGES_ORG)
    unbilled = [e for e in five.time if e.billable]
    assert found == sorted(
        [("device_not_counted", S.WORKSTATIONS_ONLY_ORG), ("usage_differs", S.TRUE_UP_ORG),
         ("usage_not_billed", S.UNBILLED_SKU_ORG), ("usage_not_billed", S.UNBILLED_SKU_ORG)]
        + [("time_not_invoiced", S.NO_TICKET_CHARGES_ORG)] * len(unbilled))
    time_at_stake = sum(d.at_stake.amount for d in result.leaks if d.section == "time")
    assert time_at_stake == sum(e.hours * S.PRICES["hourly"] for e in unbilled)
    true_up = next(d for d in result.leaks if d.kind == "usage_differs")
    licence = sample.organisation(S.TRUE_UP_ORG).licence("M365-BP")
    assert true_up.at_stake.amount == (licence.after - licence.quantity[1]) * S.PRICES["m365"]


def test_the_run_prints_progress_and_a_summary(demo):
    result, text = demo
    for expected in ("Pushing the invoices to Xero", "What changed since last month",
                     "The month in figures", "leaks found",
                     f"hub --config {result.config_path} invoice list", "/docs"):
        assert expected in text, expected


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.redis
def test_the_same_month_on_postgresql_and_redis_with_worker_processes(tmp_path, monkeypatch):
    """HUB_DATABASE_URL and HUB_BROKER_URL set: PostgreSQL, Redis and two `hub worker`
    processes bill the same month to the same totals."""
    import os
    import uuid

    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    pg, redis_url = os.environ.get("HUB_TEST_POSTGRES_URL"), os.environ.get("HUB_TEST_REDIS_URL")
    if not pg or not redis_url:
        pytest.skip("needs HUB_TEST_POSTGRES_URL and HUB_TEST_REDIS_URL")
    name = f"t_demo_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = make_url(pg).set(database=name).render_as_string(hide_password=False)
    monkeypatch.setenv("HUB_DATABASE_URL", url)
    monkeypatch.setenv("HUB_BROKER_URL", redis_url)
    monkeypatch.setenv("HUB_JOBS_NAMESPACE", name)
    for unset in ("HUB_CONFIG", "HUB_SECRET_KEY"):
        monkeypatch.delenv(unset, raising=False)
    try:
        out = io.StringIO()
        result = run_demo(tmp_path / "demo-data", ORGS, console=Console(file=out, width=120))
        assert result.broker == "redis" and result.database_url.startswith("postgresql")
        assert "`hub worker` processes" in out.getvalue()
        expected = expected_invoices(result.sample)
        prebill = S.PREBILL["stage_fee"] * S.PREBILL["percent"] / 100
        assert result.ledger_total == sum(expected.values()) + prebill
        assert len(result.xero_invoices) == result.ledger_invoices == 2 * ORGS + 2 + 1
        assert result.declined == 2 and result.charged == len(result.xero_payments) > 0
        assert len(result.leaks) == 4 + sum(
            1 for e in result.sample.organisation(S.NO_TICKET_CHARGES_ORG).time if e.billable)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def test_metrics_after_the_demo_show_every_series(demo):
    """`curl /metrics` after the demo: the issue #20 series, with the demo's figures."""
    from fastapi.testclient import TestClient
    from prometheus_client.parser import text_string_to_metric_families

    from hub.config import load_settings
    from hub.host.context import build_context
    from hub.web.app import create_app

    result, _ = demo
    ctx = build_context(load_settings(result.config_path))
    with TestClient(create_app(ctx)) as client:
        answer = client.get("/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    samples: dict[str, list] = defaultdict(list)
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            samples[sample.name].append(sample)

    def total(name: str, **labels: str) -> float:
        return sum(s.value for s in samples[name]
                   if all(s.labels.get(k) == v for k, v in labels.items()))

    for name in ("hub_jobs_total", "hub_outbox_rows", "hub_outbox_depth",
                 "hub_outbox_oldest_age_seconds", "hub_failed_jobs", "hub_webhook_events_total",
                 "hub_pulls_total", "hub_pull_last_success_age_seconds",
                 "hub_vendor_calls_total", "hub_vendor_rate_limited_total",
                 "hub_billing_run_seconds_count", "hub_billing_run_seconds_sum",
                 "hub_invoices_confirmed_total", "hub_inbox_events"):
        assert name in samples or f"# TYPE {name.removesuffix('_total')}" in answer.text, name
    assert total("hub_jobs_total", actor="push_documents", outcome="done") > 0
    assert total("hub_pulls_total", connection="ninja") > 0
    assert total("hub_vendor_calls_total", connection="ninja", status="200") > 0
    assert total("hub_webhook_events_total", source="stripe", outcome="accepted") > 0
    assert total("hub_billing_run_seconds_count", step="preview") >= 2
    assert total("hub_billing_run_seconds_sum", step="confirm") > 0
    engine = create_engine(result.database_url)
    with Session(engine) as session:  # what the billing runs confirmed (the pre-bill is not)
        confirmed = [i for i in session.exec(select(Invoice)).all()
                     if i.finalised_at is not None and i.kind.value != "one_time"]
    engine.dispose()
    assert total("hub_invoices_confirmed_total") >= len(confirmed) > 0
    assert total("hub_outbox_rows", effect="push", status="done") > 0
    assert {s.labels["connection"] for s in samples["hub_pull_last_success_age_seconds"]} >= {
        "ninja", "autotask"}


@pytest.fixture(scope="module")
def quickbooks_demo(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    for name in ("HUB_DATABASE_URL", "HUB_BROKER_URL", "HUB_CONFIG", "HUB_SECRET_KEY"):
        mp.delenv(name, raising=False)
    out = io.StringIO()
    console = Console(file=out, width=120)
    folder = tmp_path_factory.mktemp("demo-qbo") / "demo-data"
    result = run_demo(folder, ORGS, console=console, accounting="quickbooks")
    print_summary(result, console)
    yield result, out.getvalue()
    mp.undo()


def test_the_month_against_quickbooks_pushes_everything_and_reconciles(quickbooks_demo, demo):
    """`hub demo --accounting quickbooks`: the same month, the same leaks, QuickBooks holding
    every invoice and card payment, and reconciling it against the hub finds nothing else."""
    result, text = quickbooks_demo
    assert result.accounting == "quickbooks"
    assert len(result.xero_invoices) == result.ledger_invoices == 2 * ORGS + 2 + 1
    assert sum(Decimal(str(i["Total"])) for i in result.xero_invoices) == result.ledger_total
    succeeded = [c for c in result.stripe_charges if c["status"] == "succeeded"]
    assert len(result.xero_payments) == len(succeeded)
    assert sorted(d.kind for d in result.leaks) == sorted(d.kind for d in demo[0].leaks)
    assert not [d for d in result.leaks if d.section == "accounting"]
    assert "Pushing the invoices to QuickBooks Online" in text
    assert "pushed to QuickBooks Online" in text
