"""CLI start-up: a command imports only what it needs (issue #21). Not a timing: the imported
modules are read from ``sys.modules`` in a fresh interpreter; bench/cli_start.py times it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import typer

from hub.cli.main import build_app, main
from hub.testing import FakeDistribution

#: Never needed to show help or the status: the web stack, the card SDK, the PDF renderer.
NEVER_AT_START = ("fastapi", "uvicorn", "stripe", "xhtml2pdf")
#: Not needed for help either: the SQL toolkit, HTTP, the job broker, Rich.
NOT_FOR_HELP = NEVER_AT_START + ("sqlalchemy", "sqlmodel", "httpx", "dramatiq", "redis",
                                 "pydantic_settings", "cryptography", "rich")


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


def test_hub_status_imports_no_web_stack_card_sdk_pdf_renderer_or_redis(tmp_path):
    env = _clean_env()
    for command in (["init"], ["db", "upgrade"]):
        subprocess.run([sys.executable, "-m", "hub.cli.main", *command], cwd=tmp_path, env=env,
                       check=True, capture_output=True)
    loaded = _modules_after("""
        from hub.cli.main import main
        assert main(["status"]) == 0
    """, tmp_path)
    unwanted = set(NEVER_AT_START) | {"httpx", "redis"}
    assert not loaded & unwanted, loaded & unwanted


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
