"""Many workers, one budget per vendor account (issue #20), on PostgreSQL + Redis.

Four ``hub worker`` processes push 1,000 invoices to one Xero organisation in the sandbox, which
records when every call arrived and was answered on its own (scaled) clock: never more than 5 in
flight and never more than 60 in any 60-second window, and every invoice exists once. The same
for four Autotask connections of one Autotask database pulled at once: one shared hourly budget.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from hub.db.engine import make_engine, session_scope
from hub.db.models import ExternalLink, OutboxEntry, OutboxStatus, metadata
from hub.host.connection_state import DbConnectionState
from hub.host.secrets import SecretBox

INVOICES = 1000
WORKERS = 4
#: Xero's clock runs twice as fast in the sandbox (bench/xero_push.py's default --scale): a
#: Xero minute is 30 real seconds, and four workers would make more than 60 calls in it.
SCALE = 2.0
DEADLINE_SECONDS = 300
HUB = Path(sys.executable).with_name("hub")


def max_in_flight(spans: list[tuple[float, float]]) -> int:
    """The most calls that overlapped at any moment."""
    events = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans],
                    key=lambda e: (e[0], e[1]))
    current = peak = 0
    for _, step in events:
        current += step
        peak = max(peak, current)
    return peak


def max_in_window(starts: list[float], seconds: float) -> int:
    """The most calls that arrived within any ``seconds``-long window."""
    starts = sorted(starts)
    peak, first = 0, 0
    for last, t in enumerate(starts):
        while t - starts[first] >= seconds:
            first += 1
        peak = max(peak, last - first + 1)
    return peak


def test_window_helpers_count_what_they_say():
    assert max_in_flight([(0, 2), (1, 3), (2.5, 4), (5, 6)]) == 2
    assert max_in_window([0, 10, 59.9, 60, 61], 60) == 4  # 10, 59.9, 60 and 61


def worker_env(config: Path, namespace: str, batch: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update({"HUB_CONFIG": str(config), "HUB_JOBS_NAMESPACE": namespace,
                "HUB_JOBS_PUSH_BATCH_SIZE": str(batch), "HUB_JOBS_WORKER_THREADS": "4",
                "HUB_JOBS_MIN_BACKOFF_SECONDS": "0.2", "HUB_JOBS_MAX_BACKOFF_SECONDS": "2",
                "HUB_JOBS_MAX_ATTEMPTS": "60", "HUB_JOBS_DISPATCH_INTERVAL_SECONDS": "0.2"})
    return env


def start_workers(env: dict[str, str], cwd: Path) -> list[subprocess.Popen]:
    return [subprocess.Popen([str(HUB), "worker"], env=env, cwd=cwd,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            for _ in range(WORKERS)]


def stop_workers(workers: list[subprocess.Popen]) -> list[str]:
    errors = []
    for worker in workers:
        worker.terminate()
    for worker in workers:
        try:
            _, err = worker.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
            _, err = worker.communicate()
        errors.append(err.decode(errors="replace"))
    return errors


def wait_until(predicate, workers, deadline: float = DEADLINE_SECONDS) -> None:
    start = time.monotonic()
    while time.monotonic() - start < deadline:
        if predicate():
            return
        for worker in workers:
            assert worker.poll() is None, f"a worker exited: {worker.stderr.read().decode()}"
        time.sleep(0.25)
    raise AssertionError("the workers did not finish in time")


@pytest.mark.slow
@pytest.mark.redis
@pytest.mark.postgres
def test_four_workers_share_one_xero_budget(tmp_path, hub_postgres_url, hub_redis_url,
                                            hub_redis_namespace, seeding):
    from hub_accounting_xero.sandbox import XeroSandbox
    from hub_accounting_xero.testing import connected

    engine = make_engine(hub_postgres_url)
    metadata.create_all(engine)
    key = Fernet.generate_key().decode()
    box = SecretBox(key)
    # validate=False: the plugin's own tests check every request against the OpenAPI file;
    # here the sandbox's CPU goes to answering four workers.
    sandbox = XeroSandbox(scale=SCALE, unique_numbers=True, validate=False)
    seeding.seed_invoices(engine, INVOICES, "xero")
    with sandbox.serve() as url:
        tenant = sandbox.tenant.tenant_id
        connected(sandbox, url, name="xero", state=DbConnectionState(engine, "xero", box),
                  tenant_id=tenant)  # the consent flow stores the tokens in the database
        settings = sandbox.settings_for(url)
        config = tmp_path / "hub.toml"
        config.write_text(
            f'data_dir = "{tmp_path / "data"}"\ndatabase_url = "{hub_postgres_url}"\n'
            f'broker_url = "{hub_redis_url}"\nsecret_key = "{key}"\nlog_level = "WARNING"\n\n'
            '[[connections]]\nname = "xero"\nplugin = "xero"\n'
            f"rate_time_scale = {SCALE}\n[connections.settings]\n"
            f'base_url = "{settings["base_url"]}"\nidentity_url = "{url}"\n'
            f'client_id = "{settings["client_id"]}"\n'
            f'client_secret = {{ encrypted = "{box.encrypt(settings["client_secret"])}" }}\n'
            f'tenant_id = "{tenant}"\nbatch_size = 5\n', encoding="utf-8")
        # Xero takes its time over each batch, so 16 worker threads would overlap many calls
        sandbox.inject("slow", times=None, method="PUT", path="^/Invoices", seconds=0.4,
                       after=True)
        started = sandbox.clock.seconds()
        env = worker_env(config, hub_redis_namespace, batch=5)
        workers = start_workers(env, tmp_path)
        try:
            wait_until(lambda: _done(engine) >= INVOICES // 4, workers)
            status = _hub_status(env, tmp_path)
            wait_until(lambda: _done(engine) == INVOICES, workers)
        finally:
            errors = stop_workers(workers)
        elapsed = (sandbox.clock.seconds() - started) / 60
    calls = [c for c in sandbox.api_calls() if c.tenant == tenant]
    statuses: dict[int, int] = {}
    for c in calls:
        statuses[c.status] = statuses.get(c.status, 0) + 1
    in_flight = max_in_flight([(c.started, c.finished) for c in calls])
    per_minute = max_in_window([c.started for c in calls], 60.0)
    print(f"\n{len(calls)} Xero calls in {elapsed:.1f} Xero minutes by {WORKERS} workers; "
          f"answers {statuses}; most in flight {in_flight}; most in one minute {per_minute}")
    shown = status
    assert sorted(p["kind"] for p in shown["processes"]) == ["worker"] * WORKERS
    budget = next(b for b in shown["rate_budgets"] if b["key"] == f"xero:{tenant}")
    assert budget["in_flight_limit"] == 5 and budget["windows"]["minute"]["limit"] == 60
    assert in_flight <= 5, errors
    assert per_minute <= 60
    assert statuses.get(429, 0) == 0, "paced in advance: Xero never had to refuse a call"
    assert len(calls) > 120, "more calls than two Xero minutes allow: the budget was binding"
    numbers = [i["InvoiceNumber"] for i in sandbox.books(tenant).invoices.values()]
    assert len(numbers) == len(set(numbers)) == INVOICES
    with session_scope(engine) as session:
        links = session.execute(select(func.count()).select_from(ExternalLink)).scalar()
    assert links == INVOICES
    engine.dispose()


def _hub_status(env: dict[str, str], cwd: Path) -> dict:
    """``hub status --json`` while the workers run (a hang shows its traceback)."""
    proc = subprocess.Popen([str(HUB), "status", "--json"], env=env, cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        raise AssertionError(f"hub status hung:\n{err[-3000:]}") from None
    assert proc.returncode == 0, err
    return json.loads(out)


def _done(engine) -> int:
    with session_scope(engine) as session:
        return session.execute(select(func.count()).select_from(OutboxEntry).where(
            OutboxEntry.status == OutboxStatus.done)).scalar()


AUTOTASK_CONNECTIONS = 4
#: An Autotask hour lasts 4 real seconds here; the database allows 20 calls in it (instead of
#: 10,000) and 3 at once, shared by every connection of the database.
AUTOTASK_SCALE = 900.0
AUTOTASK_PER_HOUR = 20
AUTOTASK_IN_FLIGHT = 3


@pytest.mark.slow
@pytest.mark.redis
@pytest.mark.postgres
def test_four_workers_pulling_one_autotask_database_share_its_budget(
        tmp_path, hub_postgres_url, hub_redis_url, hub_redis_namespace):
    from hub_autotask.sandbox import create_app, generate

    from hub.config import load_settings
    from hub.host.context import build_context
    from hub.jobs.assemble import build_runtime
    from hub.jobs.settings import JobSettings
    from hub.testing.vendors import serve_sandbox

    engine = make_engine(hub_postgres_url)
    metadata.create_all(engine)
    key = Fernet.generate_key().decode()
    box = SecretBox(key)
    world = generate(companies=8, contacts_per_company=3, tickets_per_company=2,
                     entries_per_ticket=2)
    hour = 3600.0 / AUTOTASK_SCALE
    with serve_sandbox(create_app, world) as (data, control, url):
        control.limit, control.window = AUTOTASK_PER_HOUR, hour  # Autotask's own refusal
        entries = []
        for n in range(1, AUTOTASK_CONNECTIONS + 1):
            entries.append(
                f'[[connections]]\nname = "autotask-{n}"\nplugin = "autotask"\n'
                f"rate_time_scale = {AUTOTASK_SCALE}\n[connections.settings]\n"
                f'base_url = "{url}"\nusername = "{data.username}"\n'
                f'secret = {{ encrypted = "{box.encrypt(data.secret)}" }}\n'
                f'integration_code = {{ encrypted = "{box.encrypt(data.integration_code)}" }}\n'
                f"page_size = 4\nrequests_per_hour = {AUTOTASK_PER_HOUR}\n"
                f"concurrent_requests = {AUTOTASK_IN_FLIGHT}\n")
        config = tmp_path / "hub.toml"
        config.write_text(
            f'data_dir = "{tmp_path / "data"}"\ndatabase_url = "{hub_postgres_url}"\n'
            f'broker_url = "{hub_redis_url}"\nsecret_key = "{key}"\nlog_level = "WARNING"\n\n'
            + "\n".join(entries), encoding="utf-8")
        env = worker_env(config, hub_redis_namespace, batch=50)
        workers = start_workers(env, tmp_path)
        ctx = build_context(load_settings(config))
        runtime = build_runtime(ctx, settings=JobSettings(namespace=hub_redis_namespace))
        try:
            for n in range(1, AUTOTASK_CONNECTIONS + 1):
                runtime.send("pull_connection", f"autotask-{n}")
            wait_until(lambda: _pulled(engine) == AUTOTASK_CONNECTIONS, workers)
        finally:
            runtime.broker.close()
            errors = stop_workers(workers)
    in_flight = max_in_flight(control.times)
    per_hour = max_in_window([arrived for arrived, _ in control.times], hour)
    print(f"\n{len(control.times)} Autotask calls by {AUTOTASK_CONNECTIONS} connections in "
          f"{WORKERS} workers; most in flight {in_flight}; most in one Autotask hour {per_hour}; "
          f"refused {control.refusals}")
    assert in_flight <= AUTOTASK_IN_FLIGHT, errors
    assert per_hour <= AUTOTASK_PER_HOUR
    assert control.refusals == 0
    assert len(control.times) > 2 * AUTOTASK_PER_HOUR, "the hourly budget was binding"
    engine.dispose()


def _pulled(engine) -> int:
    from hub.db.models.jobs import ConnectionStateEntry

    with session_scope(engine) as session:
        return session.execute(select(func.count()).select_from(ConnectionStateEntry).where(
            ConnectionStateEntry.key == "_hub.last_pull_at")).scalar()
