"""The demo's working folder, its ``hub.toml`` and a clean database.

``hub demo`` starts clean every run: the folder is deleted and recreated (only when it is empty
or was made by an earlier demo, marked by :data:`MARKER`), and a PostgreSQL database given by
``HUB_DATABASE_URL`` has its hub tables dropped before ``db upgrade``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import inspect, text

from hub.errors import ValidationFailed

__all__ = ["fresh_folder", "write_config", "wipe_database", "MARKER"]

MARKER = ".hub-demo"


def fresh_folder(directory: Path) -> Path:
    """Delete ``directory`` (if it is an earlier demo's or empty) and create it again."""
    directory = directory.resolve()
    if directory.exists():
        if not directory.is_dir():
            raise ValidationFailed(f"{directory} is a file, not a folder",
                                   hint="pass another folder with --dir")
        if any(directory.iterdir()) and not (directory / MARKER).exists():
            raise ValidationFailed(
                f"{directory} is not empty and was not made by `hub demo`; refusing to delete it",
                hint="pass an empty or new folder with --dir")
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    (directory / MARKER).write_text("made by `hub demo`; deleted and recreated on every run\n",
                                    encoding="utf-8")
    return directory


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f'"{k}" = {_toml_value(v)}' for k, v in value.items()) + " }"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_config(directory: Path, connections: list[dict], *, company: str) -> Path:
    """``directory/hub.toml`` with the data folder and ``connections`` (secrets already
    encrypted or referenced, never plain)."""
    lines = ["# Written by `hub demo`: the sample MSP's hub, talking to local vendor sandboxes.",
             "# The sandboxes stop when the demo ends; the data here stays for exploring.",
             f"data_dir = {_toml_value(directory.as_posix())}", "",
             "[company]", f"name = {_toml_value(company)}", 'currency = "USD"', ""]
    for connection in connections:
        lines += ["[[connections]]", f"name = {_toml_value(connection['name'])}",
                  f"plugin = {_toml_value(connection['plugin'])}", "[connections.settings]"]
        lines += [f"{key} = {_toml_value(value)}" for key, value in connection["settings"].items()]
        lines.append("")
    path = directory / "hub.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def wipe_database(url: str) -> None:
    """Drop every table of a non-SQLite database so the demo starts clean (the SQLite file is
    in the demo folder, already deleted)."""
    if url.startswith("sqlite"):
        return
    from hub.db.engine import make_engine
    from hub.db.models import metadata

    engine = make_engine(url)
    try:
        metadata.drop_all(engine)
        with engine.begin() as conn:
            if inspect(conn).has_table("alembic_version"):
                conn.execute(text("DROP TABLE alembic_version"))
    finally:
        engine.dispose()
