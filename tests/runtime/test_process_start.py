"""What every long-running process does at start (issue #20): log its configuration summary
(secrets redacted, the Redis password included) as JSON when asked, write a heartbeat that
`hub status` shows, stop with a clear error when its key cannot read the stored secrets, refuse
plain-text secrets in hub.toml; and the company's time zone for the scheduler and "today"."""

from __future__ import annotations

import datetime as dt
import json
import logging
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from hub.config import HubSettings, load_settings
from hub.db.migrate import upgrade
from hub.errors import ConfigError
from hub.host.connection_state import DbConnectionState
from hub.host.context import HubContext, build_context
from hub.host.secrets import SecretBox
from hub.jobs.logs import JsonFormatter
from hub.jobs.scheduler import due_runs, next_runs
from hub.observe.process import config_summary

HUB = Path(sys.executable).with_name("hub")


def _config(tmp_path: Path, key: str, extra: str = "") -> Path:
    url = f"sqlite:///{(tmp_path / 'hub.sqlite').as_posix()}"
    upgrade(url)
    config = tmp_path / "hub.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\ndatabase_url = "{url}"\n'
                      f'secret_key = "{key}"\n{extra}', encoding="utf-8")
    return config


def test_json_log_lines_carry_the_ids():
    record = logging.LogRecord("hub.jobs", logging.INFO, __file__, 1, "pushed %d", (2,), None)
    record.job, record.connection, record.document_ids = "push_documents", "xero", [3, 4]
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "pushed 2" and entry["level"] == "INFO"
    assert (entry["job"], entry["connection"], entry["document_ids"]) == (
        "push_documents", "xero", [3, 4])


def test_config_summary_masks_the_redis_and_database_passwords(tmp_path):
    settings = HubSettings(data_dir=tmp_path, broker_url="redis://:r3dis-pw@cache:6379/0",
                           database_url="postgresql://hub:pg-pw@db/hub", secret_key="k" * 44)
    summary = json.dumps(config_summary(HubContext(settings=settings, engine=None,
                                                   plugins=None)))
    assert "r3dis-pw" not in summary and "pg-pw" not in summary and "k" * 44 not in summary
    assert "redis://:**********@cache:6379/0" in summary


def test_worker_logs_its_start_as_json_and_reports_its_heartbeat(tmp_path):
    config = _config(tmp_path, Fernet.generate_key().decode())
    env = {"PATH": "/usr/bin:/bin", "HUB_CONFIG": str(config), "HUB_LOG_FORMAT": "json"}
    worker = subprocess.Popen([str(HUB), "worker"], env=env, cwd=tmp_path, text=True,
                              stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    try:
        started = json.loads(worker.stderr.readline())
        assert started["message"] == "hub worker starting"
        assert started["config"]["broker"] == "in-process"
        deadline = time.monotonic() + 60
        while True:
            shown = subprocess.run([str(HUB), "status", "--json"], env=env, cwd=tmp_path,
                                   capture_output=True, text=True, timeout=120)
            processes = json.loads(shown.stdout)["processes"]
            if processes or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert [p["kind"] for p in processes] == ["worker"]
        assert processes[0]["seen_seconds_ago"] < 30
    finally:
        worker.terminate()
        _, rest = worker.communicate(timeout=60)
    assert worker.returncode == 0
    for line in rest.splitlines():  # every line is one JSON object
        json.loads(line)


def test_a_process_whose_key_cannot_read_the_stored_secrets_stops_at_start(tmp_path):
    first_key, other_key = Fernet.generate_key(), Fernet.generate_key().decode()
    config = _config(tmp_path, other_key)
    ctx = build_context(load_settings(config))
    DbConnectionState(ctx.engine, "xero", SecretBox(first_key)).set(
        "token", {"access": "abc"}, secret=True)  # stored by a machine with another key
    env = {"PATH": "/usr/bin:/bin", "HUB_CONFIG": str(config)}
    answer = subprocess.run([str(HUB), "worker"], env=env, cwd=tmp_path, capture_output=True,
                            text=True, timeout=120)
    assert answer.returncode != 0
    assert "cannot decrypt" in answer.stderr and "HUB_SECRET_KEY" in answer.stderr
    assert "Traceback" not in answer.stderr


def test_plain_text_secrets_in_connection_settings_are_refused(tmp_path):
    config = _config(tmp_path, Fernet.generate_key().decode(), extra=(
        '\n[[connections]]\nname = "xero"\nplugin = "xero"\n[connections.settings]\n'
        'client_id = "abc"\nclient_secret = "written-in-the-file"\n'))
    with pytest.raises(ConfigError) as refused:
        build_context(load_settings(config)).connection("xero")
    assert "hub.toml:10" in str(refused.value) and "plain text" in str(refused.value)
    assert "encrypted" in refused.value.hint
    env = {"PATH": "/usr/bin:/bin", "HUB_CONFIG": str(config)}
    answer = subprocess.run([str(HUB), "worker"], env=env, cwd=tmp_path, capture_output=True,
                            text=True, timeout=120)
    assert answer.returncode != 0 and "plain text" in answer.stderr


def _zoned(zone: str, now: str) -> HubContext:
    settings = HubSettings(company={"time_zone": zone}, billing={"run_at": "06:00"})
    return HubContext(settings=settings, engine=None, plugins=None,
                      clock=lambda: dt.datetime.fromisoformat(now))


def test_the_daily_run_is_at_run_at_in_the_company_time_zone():
    ctx = _zoned("Europe/London", "2026-07-01T04:59:00+00:00")  # 05:59 summer time
    ctx.settings.connections.clear()
    before = {r.job: r for r in due_runs(ctx, ctx.clock())}["billing_run"]
    assert before.args == ("2026-06-30",)
    after = {r.job: r for r in due_runs(ctx, dt.datetime(2026, 7, 1, 5, 0,
                                                         tzinfo=dt.timezone.utc))}["billing_run"]
    assert after.args == ("2026-07-01",)
    assert next_runs(ctx, ctx.clock())["billing_run"] == dt.datetime(
        2026, 7, 1, 5, 0, tzinfo=dt.timezone.utc)


def test_billing_dates_are_the_company_s_dates():
    assert _zoned("Australia/Sydney", "2026-07-01T23:30:00+00:00").today() == dt.date(2026, 7, 2)
    assert _zoned("UTC", "2026-07-01T23:30:00+00:00").today() == dt.date(2026, 7, 1)
    with pytest.raises(ValueError, match="IANA"):
        HubSettings(company={"time_zone": "Mars/Olympus"})


@pytest.mark.parametrize("command", ["run", "serve"])
def test_a_web_port_in_use_stops_the_process_with_one_line(tmp_path, command):
    """`hub run` used to log uvicorn's bind error and go on running its jobs with no web."""
    import socket

    config = _config(tmp_path, Fernet.generate_key().decode())
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        env = {"PATH": "/usr/bin:/bin", "HUB_CONFIG": str(config), "HUB_WEB__PORT": str(port)}
        answer = subprocess.run([str(HUB), command], env=env, cwd=tmp_path,
                                capture_output=True, text=True, timeout=120)
    assert answer.returncode == 3, answer.stderr[-2000:]
    said = {"run": f"error: the web server cannot listen on 127.0.0.1:{port}: ",  # before jobs
            "serve": f"error: the web server could not listen on 127.0.0.1:{port}; hub stopped"}
    assert said[command] in answer.stderr
    assert "--port" in answer.stderr and "Traceback" not in answer.stderr
