"""2,000 documents through a sandbox that fails 20% of calls, while the worker process is
killed with SIGKILL three times: every document ends up at the sandbox exactly once, with the
right amount, and synced (linked, locked, outbox done) in the hub.

Run on Redis + PostgreSQL (the production shape) and on the embedded defaults (SQLite and the
in-process broker, whose queue dies with the process: the dispatcher re-sends it on restart).
"""

from __future__ import annotations

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
from hub.db.models import ExternalLink, Invoice, OutboxEntry, OutboxStatus, metadata
from hub.testing import SandboxServer

DOCUMENTS = 2000
KILLS_AT = (300, 900, 1500)  # kill the worker when this many documents are done
WORKER = Path(__file__).with_name("sandbox_worker.py")
DEADLINE_SECONDS = 150


def write_config(tmp_path: Path, database_url: str, broker_url: str | None, base_url: str) -> Path:
    broker = f'broker_url = "{broker_url}"\n' if broker_url else ""
    config = tmp_path / "hub.toml"
    config.write_text(
        f'data_dir = "{tmp_path / "data"}"\n'
        f'database_url = "{database_url}"\n{broker}'
        f'secret_key = "{Fernet.generate_key().decode()}"\n'
        'log_level = "WARNING"\n\n'
        '[[connections]]\nname = "books"\nplugin = "sandbox_accounting"\n'
        f'[connections.settings]\nbase_url = "{base_url}"\ntimeout_seconds = 0.3\n',
        encoding="utf-8")
    return config


def worker_env(config: Path, namespace: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update({
        "HUB_CONFIG": str(config),
        "HUB_JOBS_MIN_BACKOFF_SECONDS": "0.05", "HUB_JOBS_MAX_BACKOFF_SECONDS": "0.5",
        "HUB_JOBS_MAX_ATTEMPTS": "60", "HUB_JOBS_DISPATCH_LEASE_SECONDS": "6",
        "HUB_JOBS_DISPATCH_INTERVAL_SECONDS": "0.2", "HUB_JOBS_PUSH_BATCH_SIZE": "10",
        "HUB_JOBS_WORKER_THREADS": "4", "HUB_JOBS_HEARTBEAT_TIMEOUT_SECONDS": "2",
        "HUB_JOBS_NAMESPACE": namespace,
    })
    return env


def done_count(engine) -> int:
    with session_scope(engine) as session:
        return session.execute(select(func.count()).select_from(OutboxEntry).where(
            OutboxEntry.status == OutboxStatus.done)).scalar()


def run_chaos(tmp_path, engine, database_url, broker_url, namespace, sandbox_module, seeding):
    plan = sandbox_module.FaultPlan(failure_rate=0.2, hold_seconds=0.6, retry_after=0.05)
    app, ledger = sandbox_module.create_sandbox_app(plan)
    ids = seeding.seed_invoices(engine, DOCUMENTS, "books")
    with SandboxServer(app, log_level="critical") as server:
        env = worker_env(write_config(tmp_path, database_url, broker_url, server.url), namespace)
        start = time.monotonic()
        kills = 0
        progress = []
        worker = subprocess.Popen([sys.executable, str(WORKER)], env=env, cwd=tmp_path)
        try:
            while time.monotonic() - start < DEADLINE_SECONDS:
                done = done_count(engine)
                if not progress or progress[-1][1] != done:
                    progress.append((round(time.monotonic() - start, 1), done))
                if kills < len(KILLS_AT) and done >= KILLS_AT[kills]:
                    worker.send_signal(signal.SIGKILL)
                    worker.wait()
                    kills += 1
                    worker = subprocess.Popen([sys.executable, str(WORKER)], env=env, cwd=tmp_path)
                if done == DOCUMENTS:
                    break
                assert worker.poll() is None, f"worker exited with {worker.returncode}"
                time.sleep(0.05)
        finally:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
    elapsed = time.monotonic() - start
    print(f"\n{DOCUMENTS} documents, {kills} SIGKILLs, {ledger.calls} sandbox calls, "
          f"faults {ledger.faults}, {elapsed:.1f}s")
    print("progress (seconds, documents done):", progress[::max(len(progress) // 40, 1)])
    assert kills == 3
    assert sum(ledger.faults.values()) >= 0.1 * ledger.calls
    assert set(ledger.faults) == {"500", "429", "timeout", "drop"}

    # Exactly once at the sandbox, with the right amounts.
    numbers = ledger.numbers()
    assert len(numbers) == len(set(numbers)) == DOCUMENTS
    with session_scope(engine) as session:
        invoices = {i.number: i for i in session.execute(select(Invoice)).scalars()}
        links = {link.document_id: link for link in session.execute(select(ExternalLink)).scalars()}
        rows = session.execute(select(OutboxEntry)).scalars().all()
    from decimal import Decimal

    for number, record in ledger.invoices.items():
        invoice = invoices[number]
        assert Decimal(record["total"]) == invoice.total
        assert links[invoice.id].external_id == record["id"]
    # Every hub document synced: linked, locked, outbox done.
    assert sorted(links) == sorted(ids)
    assert all(i.locked_at is not None and i.locked_by == "books" for i in invoices.values())
    assert {r.status for r in rows} == {OutboxStatus.done}


@pytest.mark.slow
@pytest.mark.redis
@pytest.mark.postgres
def test_chaos_redis_postgres(tmp_path, hub_postgres_url, hub_redis_url, hub_redis_namespace,
                              sandbox_module, seeding):
    engine = make_engine(hub_postgres_url)
    metadata.create_all(engine)
    try:
        run_chaos(tmp_path, engine, hub_postgres_url, hub_redis_url, hub_redis_namespace,
                  sandbox_module, seeding)
    finally:
        engine.dispose()


@pytest.mark.slow
def test_chaos_embedded_sqlite(tmp_path, sandbox_module, seeding):
    url = f"sqlite:///{(tmp_path / 'hub.sqlite').as_posix()}"
    engine = make_engine(url)
    metadata.create_all(engine)
    try:
        run_chaos(tmp_path, engine, url, None, "unused", sandbox_module, seeding)
    finally:
        engine.dispose()
