"""Input the CLI once died on with a traceback (a tester's list): amounts past the money columns,
dates whose due date or periods pass 9999-12-31, unknown pull kinds, migration revisions that do
not exist or are behind the database, paths that cannot be written, ports and thread counts out
of range, a connection of the wrong type. Each is now refused in one ``error:`` line with a
non-zero exit, and nothing is stored (a dump of every table before and after)."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from hub.cli import state as cli_state
from hub.cli.ids import MAX_ID
from hub.db.migrate import MIGRATIONS_DIR
from hub.testing.cli import real_cli
from hub.testing.snapshots import cli_rows

BIG = "99999999999999999999"

SETUP = [
    ["org", "create", "Acme", "--email", "billing@acme.test"],
    ["invoice", "create", "1"],
    ["invoice", "add-line", "1", "--description", "Support", "--price", "100"],
    ["invoice", "finalise", "1"],
]

#: (arguments, words the one line must hold)
BAD = [
    (["payment", "add", "1", "1e400"], "15 integer digits"),
    (["payment", "add", "1", "99999999999999999999"], "15 integer digits"),
    (["account", "transaction", "1", "--side", "credit", "--amount", "1e400"],
     "15 integer digits"),
    (["prebill", "create", "1", "--project", "P", "--stage", "S", "--fee", "1e400",
      "--percent", "10"], "15 integer digits"),
    (["credit-note", "create", "--invoice", "1", "--percent", "abc"], "'abc' is not a number"),
    (["credit-note", "create", "--invoice", "1", "--line", "X=abc"], "'abc' is not a number"),
    (["invoice", "create", "1", "--date", "9999-12-31"], "due date"),
    (["contract", "create", "1", "C", "--start", "9999-12-01"], "runs past 9999-12-31"),
    (["recurring", "create", "1", "--start", "9999-12-31"], "9999-12-31"),
    (["recurring", "create", "1", "--start", "9999-12-31", "--bill-from-start"], "9999-12-31"),
    (["pull", "nope", "--kind", "bogus"], "--kind bogus"),
    (["db", "upgrade", "nonsense"], "no migration revision 'nonsense'"),
    (["db", "upgrade", "0001"], "never downgrades"),
    (["db", "upgrade", "base"], "never downgrades"),
    (["db", "revision", "-m", "t", "--rev-id", "x/../y"], "not a plain identifier"),
    (["pdf", "invoice", "1", "-o", "/missing/dir/x.pdf"], "/missing/dir does not exist"),
    (["pdf", "statement", "1", "--period", "last-month", "-o", "/missing/dir/x.pdf"],
     "/missing/dir does not exist"),
    (["init", "--path", "/missing/dir/hub.toml"], "/missing/dir does not exist"),
    (["serve", "--port", "99999"], "--port"),
    (["run", "--port", "0"], "--port"),
    (["worker", "-t", "0"], "--threads"),
    (["worker", "-t", "-1"], "--threads"),
    # ids past what an id column holds, once the driver's "Python int too large to convert to
    # SQLite INTEGER": refused by the shared id type (hub.cli.ids) of every command
    *[(args, "less than or equal to 2147483647") for args in (
        ["bill", "confirm", BIG], ["invoice", "show", BIG], ["invoice", "add-line", BIG],
        ["contract", "invoice-many", "1", BIG], ["org", "add-contact", BIG, "Bob"],
        ["recurring", "create", "1", "--start", "2026-01-01", "--group", BIG],
        ["recurring", "join", "1", BIG], ["credit-note", "create", "--organisation", BIG],
        ["payment", "refund", BIG], ["account", "show", BIG], ["account", "config", BIG],
        ["prebill", "close", BIG], ["statement", BIG], ["pdf", "statement", BIG],
        ["jobs", "retry", BIG], ["invoice", "sends", BIG])],
    (["prebill", "close", "0"], "greater than or equal to 1"),
]

#: The whole numbers of the CLI that are not ids (every other one must be an id: test below).
NOT_IDS = {"limit", "offset", "port", "threads", "organisations", "seed", "stale_days", "cycle",
           "cycles", "billing_day", "due_days", "interval", "expires_days"}


@pytest.fixture
def hub(tmp_path, monkeypatch, capsys):
    with real_cli(tmp_path, monkeypatch, capsys, setup=SETUP) as run:
        yield run



def _scripts() -> list[str]:
    """The packaged migration scripts and folders (not Python's caches)."""
    return sorted(str(p.relative_to(MIGRATIONS_DIR)) for p in MIGRATIONS_DIR.rglob("*")
                  if "__pycache__" not in p.parts)


def _one_line(code: int, err: str, words: str, *, exit_code: int = 2) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err
    assert code == exit_code, (code, err)
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    assert words in lines[0], err


@pytest.mark.parametrize("args,words", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_line_and_stores_nothing(hub, tmp_path, args, words):
    before = cli_rows(tmp_path)
    packaged = _scripts()
    code, _, err = hub(*args)
    _one_line(code, err, words)
    assert cli_rows(tmp_path) == before
    assert _scripts() == packaged  # no x/ folder, no y_t.py migration


def _whole_number_parameters(app, path=("hub",)):
    """(command path, name, Typer's parameter info) for every ``int`` argument and option of
    ``app``'s commands (``Optional[int]`` and ``List[int]`` too), read from their signatures."""
    import inspect
    import typing

    for group in app.registered_groups:
        yield from _whole_number_parameters(group.typer_instance, (*path, group.name or ""))
    for command in app.registered_commands:
        hints = typing.get_type_hints(command.callback)
        for name, parameter in inspect.signature(command.callback).parameters.items():
            if int in (hints[name], *typing.get_args(hints[name])):
                yield " ".join((*path, command.name or command.callback.__name__)), name, \
                    parameter.default


def test_every_id_of_every_command_is_bounded_by_the_shared_id_type():
    from hub.cli.main import build_app

    # the bundled plugins' commands too (hub stripe card --organisation)
    params = list(_whole_number_parameters(build_app(with_plugins=True)))
    unbounded = [f"{path} {name}" for path, name, info in params
                 if name not in NOT_IDS and (getattr(info, "min", None),
                                             getattr(info, "max", None)) != (1, MAX_ID)]
    assert len(params) > 60 and not unbounded, unbounded


def test_upgrade_reports_the_revision_the_database_is_at(hub):
    code, out, _ = hub("db", "upgrade", "head")
    assert code == 0 and "database at revision head" not in out
    assert hub("db", "current")[1].strip() in out


def test_a_company_term_past_a_year_is_one_line(hub, tmp_path):
    # A term of 3,000,000 days once put due dates past 9999-12-31 (only the CLI's net for
    # OverflowError answered); the setting itself is refused now, before anything is read.
    config = tmp_path / "far.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\n'
                      "[company]\npayment_due_days = 3000000\n")
    before = cli_rows(tmp_path)
    code, _, err = hub("--config", str(config), "invoice", "create", "1", "--date", "2026-01-01")
    _one_line(code, err, "company.payment_due_days: 3000000 is outside 0–365 days", exit_code=3)
    assert cli_rows(tmp_path) == before


@pytest.mark.parametrize("code,words", [("XXX", "Unknown Currency"),
                                        ("ZZZ", "not an ISO 4217 currency")])
def test_a_company_currency_that_is_no_money_is_a_config_error_for_new_records(
        hub, tmp_path, code, words):
    config = tmp_path / "xxx.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\n[company]\ncurrency = "{code}"\n')
    before = cli_rows(tmp_path)
    for args in (["org", "create", "Beta"], ["org", "add-product", "P9", "Thing", "10"]):
        code_, _, err = hub("--config", str(config), *args)
        _one_line(code_, err, f"company.currency: '{code}'", exit_code=3)
        assert words in err
    assert cli_rows(tmp_path) == before
    # a currency of its own needs none of the company's
    code_, out, err = hub("--config", str(config), "org", "create", "Gamma", "--currency", "EUR")
    assert code_ == 0, err


def test_paths_that_cannot_be_written_are_refused(hub, tmp_path):
    a_file = tmp_path / "existing.txt"
    a_file.write_text("mine")
    folder = tmp_path / "folder"
    folder.mkdir()
    code, _, err = hub("pdf", "templates", "--copy", str(a_file))
    _one_line(code, err, "is a file, not a folder")
    assert a_file.read_text() == "mine"
    code, _, err = hub("init", "--path", str(folder), "--force")
    _one_line(code, err, "is a folder")
    code, _, err = hub("demo", "--dir", str(a_file))  # refused before any sandbox starts
    _one_line(code, err, "is a file, not a folder")
    if Path("/proc/version").exists():  # Linux: a file no one may write
        code, _, err = hub("pdf", "invoice", "1", "-o", "/proc/version")
        _one_line(code, err, "cannot write it")
        code, _, err = hub("init", "--path", "/proc/version", "--force")
        _one_line(code, err, "cannot write it")
        code, _, err = hub("demo", "--dir", "/proc/hub-demo")
        _one_line(code, err, "cannot make that folder")


@pytest.mark.parametrize("size,words", [("7", "at least 8"), ("10001", "at most 10,000"),
                                        ("99999999999999999999", "at most 10,000")])
def test_a_demo_of_too_few_or_too_many_organisations_is_refused_before_it_starts(
        hub, tmp_path, size, words):
    code, _, err = hub("demo", "--dir", str(tmp_path / "demo"), "-n", size)
    _one_line(code, err, words)
    assert not (tmp_path / "demo").exists()


@pytest.mark.parametrize("url,words", [
    ("nonsense", "HUB_DATABASE_URL"),
    ("mysql://a:secret@b/c", "mysql database"),
])
def test_a_database_url_the_hub_cannot_use_is_a_config_error(hub, monkeypatch, url, words):
    monkeypatch.setenv("HUB_DATABASE_URL", url)
    for args in (["status"], ["org", "list"]):
        cli_state.reset()
        code, _, err = hub(*args)
        _one_line(code, err, words, exit_code=3)
        assert "secret" not in err and "sqlite:///" in err


def test_status_with_an_unreachable_broker_prints_what_it_can(hub, monkeypatch):
    pytest.importorskip("redis")
    monkeypatch.setenv("HUB_BROKER_URL", "redis://127.0.0.1:1/0")
    cli_state.reset()
    from hub.sources.budgets import configure_budgets

    try:
        code, out, err = hub("status")
    finally:
        configure_budgets(None)  # status pointed this process's budgets at the dead Redis
    _one_line(code, err, "broker", exit_code=4)
    assert "outbox:" in out and "unreachable" in err


def test_a_missing_password_is_one_line(hub, monkeypatch, tmp_path):
    monkeypatch.delenv("HUB_USER_PASSWORD", raising=False)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # as with </dev/null
    before = cli_rows(tmp_path)
    code, _, err = hub("user", "add", "u4")
    lines = [line for line in err.splitlines() if line.strip().startswith("error:")]
    assert code == 2 and "Traceback" not in err
    assert len(lines) == 1 and "HUB_USER_PASSWORD" in lines[0]
    assert cli_rows(tmp_path) == before
