"""CLI start-up: a command imports only what it needs (issue #21). Not a timing: the imported
modules are read from ``sys.modules`` in a fresh interpreter; bench/cli_start.py times it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import typer

from hub.cli.main import SELF_CONTAINED, build_app, main
from hub.testing import FakeDistribution

#: Never needed to show help or the status: the web stack, the card SDK, the PDF renderer.
NEVER_AT_START = ("fastapi", "uvicorn", "stripe", "xhtml2pdf")
#: Not needed for `hub status` either: it reads through a plain driver connection (hub.db.dbapi).
NOT_FOR_STATUS = NEVER_AT_START + ("sqlalchemy", "sqlmodel", "alembic", "dramatiq", "httpx",
                                   "redis", "psycopg")
#: Not needed for help either: the SQL toolkit, HTTP, the job broker, Rich.
NOT_FOR_HELP = NEVER_AT_START + ("sqlalchemy", "sqlmodel", "httpx", "dramatiq", "redis",
                                 "cryptography", "rich")


def _modules_after(code: str, cwd) -> set[str]:
    """Top-level packages in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    script = textwrap.dedent(code) + (
        "\nimport json, sys\n"
        "print('MODULES=' + json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=cwd, capture_output=True,
                          text=True, env=_clean_env())
    line = next(x for x in done.stdout.splitlines() if x.startswith("MODULES="))
    return set(json.loads(line.removeprefix("MODULES=")))


def _clean_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}


def test_importing_the_cli_imports_no_web_stack_card_sdk_or_pdf_renderer(tmp_path):
    loaded = _modules_after("import hub.cli.main", tmp_path)
    assert not loaded & set(NOT_FOR_HELP), loaded & set(NOT_FOR_HELP)


def test_hub_help_loads_the_plugins_but_not_their_heavy_modules(tmp_path):
    loaded = _modules_after("""
        from hub.cli.main import main
        assert main(["--help"]) == 0
        import sys
        # the bundled plugins were loaded (their commands are listed), only their hook modules
        assert "hub_payments_stripe.plugin" in sys.modules and "hub_accounting_xero.plugin" in sys.modules
    """, tmp_path)
    assert "hub_payments_stripe" in loaded
    assert not loaded & set(NOT_FOR_HELP), loaded & set(NOT_FOR_HELP)


def test_hub_status_imports_no_orm_broker_web_stack_card_sdk_or_pdf_renderer(tmp_path):
    env = _clean_env()
    for command in (["init"], ["db", "upgrade"]):
        subprocess.run([sys.executable, "-m", "hub.cli.main", *command], cwd=tmp_path, env=env,
                       check=True, capture_output=True)
    for args in (["status"], ["status", "--json"]):
        loaded = _modules_after(f"""
            from hub.cli.main import main
            assert main({args!r}) == 0
        """, tmp_path)
        assert not loaded & set(NOT_FOR_STATUS), (args, loaded & set(NOT_FOR_STATUS))


def _help_texts(names: list[str]) -> dict[str, str]:
    """The help of each command in ``names`` and of each of its sub-commands, run through
    :func:`main` in a fresh interpreter (a command module imported earlier in this process
    would already carry what other modules add to its groups)."""
    code = f"""
        import contextlib, io, json
        from hub.cli.main import main

        texts = {{}}
        def show(args):
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                assert main(args) == 0, args
            texts[" ".join(args[:-1])] = out.getvalue()
        for name in {names!r}:
            show([name, "--help"])
            from hub.cli.main import SELF_CONTAINED, build_app, root_group
            command = root_group(build_app(only=SELF_CONTAINED[name])).commands[name]
            for sub in getattr(command, "commands", {{}}):
                show(["--debug", name, sub, "--help"])
        print("HELP=" + json.dumps(texts))
    """
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env=_clean_env())
    line = next((x for x in done.stdout.splitlines() if x.startswith("HELP=")), None)
    assert line is not None, done.stderr[-2000:]
    texts = json.loads(line.removeprefix("HELP="))
    return {key.removeprefix("--debug "): text for key, text in texts.items()}


def test_a_self_contained_command_is_the_same_as_in_the_whole_tree(capsys):
    """Each command run with only its own module imported (SELF_CONTAINED) has the help, the
    options and the sub-commands it has in the whole command tree."""
    whole = typer.main.get_command(build_app())
    assert set(SELF_CONTAINED) <= set(whole.commands)
    by_module: dict[str, list[str]] = {}
    for name, module in SELF_CONTAINED.items():
        by_module.setdefault(module, []).append(name)
    for names in by_module.values():
        fast = _help_texts(names)
        for key, text in fast.items():
            whole.main([*key.split(), "--help"], prog_name="hub", standalone_mode=False)
            assert capsys.readouterr().out == text, key
        expected = {f"{n} {s}" for n in names for s in getattr(whole.commands[n], "commands", {})}
        assert expected | set(names) == set(fast), names


def test_help_lists_exactly_what_typer_would(capsys):
    """The lazily converted root group prints the same help as Typer's eager conversion."""
    for args in (["--help"], ["invoice", "--help"], ["status", "--help"]):
        typer.main.get_command(build_app()).main(args, prog_name="hub", standalone_mode=False)
        eager = capsys.readouterr().out
        assert main(args) == 0
        assert capsys.readouterr().out == eager, args


def test_a_misspelt_command_is_refused_with_a_suggestion(capsys):
    assert main(["stauts"]) == 2
    err = capsys.readouterr().err
    assert "No such command 'stauts'" in err and "'status'" in err


def test_a_misspelt_hook_still_fails_loudly_when_a_command_uses_plugins(tmp_path, capsys,
                                                                       monkeypatch):
    source = "from hub import hookimpl\n\n@hookimpl\ndef hub_push_invoicez(connection):\n    pass\n"
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0
    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()
    with FakeDistribution(tmp_path, "typo2-plugin", {"typo2": "typo2_plugin"},
                          {"typo2_plugin": source}):
        assert main(["status"]) == 3  # a broken plugin is a configuration error (README: exit codes)
        err = capsys.readouterr().err.strip()
    assert 'plugin "typo2"' in err and "hub_push_invoicez" in err and "Traceback" not in err


def test_init_default_path_is_the_config_default():
    from hub.cli.commands.setup import DEFAULT_CONFIG_FILE
    from hub.config import DEFAULT_CONFIG_FILE as CONFIG_DEFAULT

    assert DEFAULT_CONFIG_FILE == CONFIG_DEFAULT


def test_the_ledger_loads_holiday_calendars_only_for_a_customer_that_names_a_country(tmp_path):
    # every billing confirm imports the ledger; the holidays registry was most of its import
    loaded = _modules_after("import hub.ledger", tmp_path)
    assert "hub" in loaded and "holidays" not in loaded
    used = _modules_after("""
        import datetime as dt
        from hub.core.ledger.calendar import AccountCalendar
        calendar = AccountCalendar(holiday_country="GB", holiday_subdivision="ENG")
        assert calendar.is_holiday(dt.date(2026, 12, 25))
        assert not calendar.is_holiday(dt.date(2026, 12, 23))
        """, tmp_path)
    assert "holidays" in used


def test_import_hub_loads_its_public_names_on_first_use(tmp_path):
    # every `hub` command imports the package; its records, money and connections (pydantic)
    # come when a plugin or command first names them
    assert "pydantic" not in _modules_after("import hub", tmp_path)
    used = _modules_after("""
        import hub
        from hub import Counted, CountedItem, Money, hookimpl, Connection
        assert Counted(source="x", items=(CountedItem(ref="a", label="A"),)).quantity == 1
        assert "Counted" in hub.__all__ and "Counted" in dir(hub)
        try:
            hub.NoSuchName
        except AttributeError:
            pass
        else:
            raise AssertionError("an unknown name was served")
        """, tmp_path)
    assert "pydantic" in used
