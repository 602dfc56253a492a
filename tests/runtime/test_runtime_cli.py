"""The runtime's CLI: token create, jobs list/retry, status; and SIGTERM on a worker."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.cli.main import main
from hub.db.engine import make_engine, session_scope
from hub.db.models import ApiToken, JobRecord, JobStatus, OutboxEntry, OutboxStatus, metadata
from hub.jobs.records import record_failure


@pytest.fixture
def hub_dir(tmp_path, monkeypatch):
    """A hub directory with a schema, no plugins from entry points (only the runtime's CLI is
    under test here)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HUB_DISABLE_PLUGINS",
                       ",".join(ep.name for ep in entry_points(group="hub")))
    for name in [k for k in os.environ if k.startswith("HUB_") and k != "HUB_DISABLE_PLUGINS"]:
        monkeypatch.delenv(name)
    engine = make_engine(f"sqlite:///{(tmp_path / 'hub-data' / 'hub.sqlite').as_posix()}")
    metadata.create_all(engine)
    yield tmp_path, engine
    engine.dispose()


def test_token_create_shows_it_once_and_stores_its_hash(hub_dir, capsys):
    tmp_path, engine = hub_dir
    assert main(["token", "create", "ops"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    with session_scope(engine) as session:
        row = session.execute(select(ApiToken)).scalar_one()
    assert row.name == "ops" and row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert main(["token", "create", "ops"]) == 2  # a clear error, not a traceback
    assert "already exists" in capsys.readouterr().err


def test_revoking_a_revoked_token_says_it_already_was_and_keeps_the_first_moment(hub_dir,
                                                                                  capsys):
    tmp_path, engine = hub_dir
    assert main(["token", "create", "ops"]) == 0
    assert main(["token", "revoke", "ops"]) == 0
    assert "token 'ops' revoked." in capsys.readouterr().out
    with session_scope(engine) as session:
        first = session.execute(select(ApiToken.revoked_at)).scalar_one()
    assert main(["token", "revoke", "ops"]) == 0  # idempotent: nothing to do is no error
    out = capsys.readouterr().out
    assert "already revoked" in out and "nothing changed" in out, out
    with session_scope(engine) as session:
        assert session.execute(select(ApiToken.revoked_at)).scalar_one() == first
    assert main(["token", "revoke", "nobody"]) == 2
    assert "no token named 'nobody'" in capsys.readouterr().err


def test_jobs_list_and_retry(hub_dir, capsys):
    tmp_path, engine = hub_dir
    with session_scope(engine) as session:
        row = OutboxEntry(effect="push", document_kind="invoice", document_id=7,
                          connection="books", status=OutboxStatus.failed, attempts=1,
                          last_error="Total must not be negative")
        session.add(row)
        session.flush()
        outbox_id = row.id
    record_failure(engine, actor="push_documents", args=[outbox_id],
                   reason="Total must not be negative", attempts=1, connection="books",
                   outbox_id=outbox_id, document_kind="invoice", document_id=7)
    assert main(["jobs", "list", "--failed"]) == 0
    out = capsys.readouterr().out
    assert "push_documents" in out and "negative" in out
    assert main(["jobs", "list", "--failed", "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("id,actor,args,status") and "Total must not be negative" in out
    assert main(["jobs", "list", "--limit", "0"]) == 2
    assert main(["jobs", "retry"]) == 2
    assert main(["jobs", "retry", "--all"]) == 0
    assert "replay requested for 1 job" in capsys.readouterr().out
    with session_scope(engine) as session:
        assert session.get(OutboxEntry, outbox_id).status == OutboxStatus.pending
        assert session.execute(select(JobRecord.status)).scalar_one() == JobStatus.retried
    assert main(["jobs", "list", "--failed"]) == 0
    assert "no failed jobs" in capsys.readouterr().out


def test_status_shows_outbox_and_next_runs(hub_dir, capsys):
    tmp_path, engine = hub_dir
    assert main(["status", "--json"]) == 0
    out = capsys.readouterr().out
    assert '"broker": "in-process"' in out and '"billing_run"' in out


def test_sigterm_finishes_in_flight_work_and_nothing_is_lost(tmp_path, sandbox_module, seeding):
    """SIGTERM a worker mid-run: it exits cleanly; a new one finishes; every document is at
    the sandbox exactly once."""
    from hub.testing import SandboxServer

    chaos = sys.modules.get("hub_runtime_chaos") or _load_chaos()
    url = f"sqlite:///{(tmp_path / 'hub.sqlite').as_posix()}"
    engine = make_engine(url)
    metadata.create_all(engine)
    seeding.seed_invoices(engine, 300, "books")
    app, ledger = sandbox_module.create_sandbox_app(
        sandbox_module.FaultPlan(failure_rate=0.2, hold_seconds=0.4))
    with SandboxServer(app, log_level="critical") as server:
        env = chaos.worker_env(chaos.write_config(tmp_path, url, None, server.url), "unused")
        worker = subprocess.Popen([sys.executable, str(chaos.WORKER)], env=env, cwd=tmp_path)
        deadline = time.monotonic() + 60
        while chaos.done_count(engine) < 50 and time.monotonic() < deadline:
            time.sleep(0.05)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
        assert chaos.done_count(engine) < 300  # stopped mid-run
        worker = subprocess.Popen([sys.executable, str(chaos.WORKER)], env=env, cwd=tmp_path)
        try:
            while chaos.done_count(engine) < 300 and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=30)
    engine.dispose()
    numbers = ledger.numbers()
    assert len(numbers) == len(set(numbers)) == 300


def _load_chaos():
    import importlib.util

    path = Path(__file__).with_name("test_runtime_chaos.py")
    spec = importlib.util.spec_from_file_location("hub_runtime_chaos", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_outbox_repush_asks_again_with_a_new_generation(hub_dir, capsys):
    """`hub outbox repush` (the fix `hub reconcile` offers): a new request row, refused while
    one is still open, and a clear error for a document that does not exist."""
    import datetime as dt
    from decimal import Decimal

    from hub.db.models import Invoice, InvoiceStatus, Organisation

    tmp_path, engine = hub_dir
    (tmp_path / "hub.toml").write_text('[[connections]]\nname = "books"\nplugin = "xero"\n')
    with session_scope(engine) as session:
        org = Organisation(name="Acme")
        session.add(org)
        session.flush()
        invoice = Invoice(organisation_id=org.id, number="INV-9", status=InvoiceStatus.unpaid,
                          issue_date=dt.date(2026, 1, 1), due_date=dt.date(2026, 1, 15),
                          total=Decimal("10.00"))
        session.add(invoice)
        session.flush()
        session.add(OutboxEntry(effect="push", document_kind="invoice", document_id=invoice.id,
                                connection="books", status=OutboxStatus.done))
        invoice_id = invoice.id
    assert main(["outbox", "repush", "invoice", str(invoice_id), "--connection", "books"]) == 0
    assert "queued outbox row" in capsys.readouterr().out
    with session_scope(engine) as session:
        rows = session.execute(select(OutboxEntry).order_by(OutboxEntry.generation)).scalars().all()
    assert [(r.generation, r.status) for r in rows] == [(0, OutboxStatus.done),
                                                         (1, OutboxStatus.pending)]
    assert main(["outbox", "repush", "invoice", str(invoice_id), "--connection", "books"]) == 2
    assert "already waiting" in capsys.readouterr().err
    assert main(["outbox", "repush", "invoice", "999", "--connection", "books"]) == 2
    assert "no invoice with id 999" in capsys.readouterr().err
    assert main(["outbox", "repush", "invoice", str(invoice_id), "--connection", "nope"]) == 3  # an unknown connection: configuration
    assert "no connection named 'nope'" in capsys.readouterr().err
