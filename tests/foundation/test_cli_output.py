"""What the CLI prints: a command's table written to a pipe or a file keeps each record on one
line (as wide as it is, within hub.cli.state.PIPE_WIDTH), unless COLUMNS says otherwise; what
users typed is printed as they typed it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

NAME = "Northwind Regional Hospital Facilities Management Cooperative Ltd"
#: What users type is printed as typed: Rich would read these as markup ("[bold]" vanished,
#: "[/]" raised an error and the command died with a traceback) and as emoji codes (":fire:"
#: printed as a flame).
BRACKETED = "Acme [/] Holdings [bold]EU[/bold] :fire:"


@pytest.fixture
def hub_cli(tmp_path):
    """Runs the real ``hub`` command on a fresh hub in ``tmp_path`` (migrated), without
    COLUMNS; keyword arguments are extra environment variables."""
    config = tmp_path / "hub.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\n')
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    env["HUB_CONFIG"] = str(config)
    hub = [str(Path(sys.executable).with_name("hub"))]

    def run(*args: str, **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(hub + list(args), env={**env, **extra}, capture_output=True,
                              text=True, stdin=subprocess.DEVNULL, timeout=60)

    upgraded = run("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    return run


def test_a_table_written_to_a_pipe_keeps_each_record_on_one_line(hub_cli):
    def run(*args: str, **extra: str) -> str:
        done = hub_cli(*args, **extra)
        assert done.returncode == 0, done.stderr
        return done.stdout

    run("org", "create", NAME, "--email", "accounts.payable@northwind-hospital.example")
    assert any(NAME in line and "accounts.payable@northwind-hospital.example" in line
               for line in run("org", "list").splitlines())
    # COLUMNS still rules: 60 columns fold the name
    assert not any(NAME in line for line in run("org", "list", COLUMNS="60").splitlines())


def test_names_and_messages_with_brackets_and_colons_are_printed_as_they_are(hub_cli):
    created = hub_cli("org", "create", BRACKETED)
    assert created.returncode == 0, created.stderr
    assert BRACKETED in created.stdout and "Traceback" not in created.stderr
    assert any(BRACKETED in line for line in hub_cli("org", "list").stdout.splitlines())
    # a refusal whose hint is TOML keeps its brackets
    refused = hub_cli("reconcile", "accounting", "--connection", "nope")
    assert refused.returncode == 3
    assert refused.stderr.startswith("error: no connection named 'nope'")
    assert "add a [[connections]] entry to hub.toml" in refused.stderr
