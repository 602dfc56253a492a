"""Backups as docs/production.md tells an operator to take them: ``pg_dump -Fc`` of the hub's
database, ``pg_restore`` into a brand-new database, and the hub carries on there — the schema is
at head and ``hub bill preview`` makes the invoices the restored schedules are due."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import select

from hub.billing.catalogue import create_organisation
from hub.billing.recurring import add_recurring_line, create_recurring
from hub.db.engine import make_engine, session_scope
from hub.db.migrate import upgrade
from hub.db.models import Invoice

HUB = Path(sys.executable).with_name("hub")
SCHEDULES = 3


@pytest.mark.postgres
@pytest.mark.skipif(not (shutil.which("pg_dump") and shutil.which("pg_restore")),
                    reason="pg_dump and pg_restore are not installed")
def test_a_restored_dump_runs_a_billing_preview(tmp_path, hub_postgres_url):
    upgrade(hub_postgres_url)
    engine = make_engine(hub_postgres_url)
    with session_scope(engine) as s:
        for n in range(SCHEDULES):
            org = create_organisation(s, f"Org {n}")
            schedule = create_recurring(s, org.id, dt.date(2026, 3, 1))
            add_recurring_line(s, recurring_id=schedule.id, description="Support",
                               unit_price="99.00")
    engine.dispose()

    source = sa.engine.make_url(hub_postgres_url)
    restored = source.set(database=f"{source.database}_restored")
    dump = tmp_path / "hub.dump"
    subprocess.run(["pg_dump", "--format=custom", "--no-owner", f"--file={dump}",
                    source.render_as_string(hide_password=False)], check=True, timeout=120)
    admin = make_engine(source.set(database="postgres").render_as_string(hide_password=False),
                        isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{restored.database}"'))
    try:
        restored_url = restored.render_as_string(hide_password=False)
        subprocess.run(["pg_restore", "--no-owner", f"--dbname={restored_url}", str(dump)],
                       check=True, timeout=120)
        config = tmp_path / "hub.toml"
        config.write_text(f'data_dir = "{tmp_path / "data"}"\n'
                          f'database_url = "{restored_url}"\n', encoding="utf-8")
        env_run = dict(cwd=tmp_path, capture_output=True, text=True, timeout=180)
        at_head = subprocess.run([str(HUB), "--config", str(config), "db", "upgrade"], **env_run)
        assert at_head.returncode == 0, at_head.stderr
        previewed = subprocess.run([str(HUB), "--config", str(config), "bill", "preview",
                                    "--date", "2026-04-01"], **env_run)
        assert previewed.returncode == 0, previewed.stderr
        assert "Org 2" in previewed.stdout
        engine = make_engine(restored_url)
        with session_scope(engine) as s:
            drafts = s.exec(select(Invoice)).all()
        engine.dispose()
        assert len(drafts) >= SCHEDULES
        assert {d.total for d in drafts} == {Decimal("99.00")}
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{restored.database}" WITH (FORCE)'))
        admin.dispose()
