"""The real CLI on a fresh, migrated SQLite hub, for tests that drive it as a user would."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

__all__ = ["real_cli"]


@contextmanager
def real_cli(tmp_path: Path, monkeypatch: Any, capsys: Any, *, settings: str = "",
             setup: Iterable[list[str]] = (), revision: str = "head"
             ) -> Iterator[Callable[..., tuple[int, str, str]]]:
    """``run(*args) -> (exit code, stdout, stderr)``: :func:`hub.cli.main.main` (its one-line
    refusals and exit codes) with ``hub.toml`` in ``tmp_path`` (``settings`` appended after
    ``data_dir``), the database migrated to ``revision`` (a migration test's older one) and
    the ``setup`` commands run, each of which must succeed. ``monkeypatch`` and ``capsys`` are
    pytest's fixtures."""
    from hub.cli import state as cli_state
    from hub.cli.main import main

    config = tmp_path / "hub.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\n{settings}')
    monkeypatch.setenv("HUB_CONFIG", str(config))
    for name in ("HUB_DATABASE_URL", "HUB_BROKER_URL"):
        monkeypatch.delenv(name, raising=False)

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out = capsys.readouterr()
        return code, out.out, out.err

    try:
        for args in (["db", "upgrade", revision], *setup):
            code, _, err = run(*args)
            if code != 0:
                raise AssertionError(f"setup command {args} failed ({code}): {err}")
        yield run
    finally:
        cli_state.reset()
