"""``hub reconcile [accounting|payments|usage|time|assets|all]...``: every leak and mismatch
between the hub and the systems it talks to, with the money at stake and the fix.

Exit status: 0 when everything asked for was checked and agrees, 1 when there are differences
(for cron and CI), 5 when there are none but a section could not be checked (no connection to
compare with: reported as *skipped* with the reason), and the codes of every command for errors
(2 bad option, 3 configuration, 4 unreachable system; README: exit codes). The report goes to stdout (table, CSV or JSON); the
progress bar goes to stderr, so ``--format csv > report.csv`` stays clean. Nothing is written.
"""

from __future__ import annotations

import datetime as dt
import sys
from enum import StrEnum
from typing import Optional

import typer

from hub.cli.state import CONSOLE_OPTIONS, context, err_console
from hub.errors import ConfigError, NotFound, ValidationFailed

__all__ = ["register", "EXIT_NOT_CHECKED"]

#: Exit status when nothing differs but some section could not be checked.
EXIT_NOT_CHECKED = 5  # README: exit codes (3 is a configuration error)


class SectionChoice(StrEnum):
    """What ``hub reconcile`` can check."""

    accounting = "accounting"
    payments = "payments"
    usage = "usage"
    time = "time"
    assets = "assets"
    all = "all"


class OutputFormat(StrEnum):
    """How the report is printed."""

    table = "table"
    csv = "csv"
    json = "json"


class _BarProgress:
    """Feeds :class:`hub.reconcile.Progress` calls into a Rich progress bar on stderr."""

    def __init__(self, progress) -> None:
        self.progress = progress
        self.task = None

    def start(self, section: str, description: str, total: int | None = None) -> None:
        if self.task is not None:
            # the previous step is finished: show its bar full at the count it reached
            done = self.progress.tasks[self.task].completed or 1
            self.progress.update(self.task, total=done, completed=done)
        self.task = self.progress.add_task(f"{section}: {description}", total=total)

    def advance(self, count: int = 1) -> None:
        if self.task is not None and count:
            self.progress.advance(self.task, count)


def reconcile(
    sections: Optional[list[SectionChoice]] = typer.Argument(
        None, help="what to check: one or more sections, or all (the default)"),
    output: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f",
                                        help="table (default), csv or json"),
    since: Optional[dt.datetime] = typer.Option(None, formats=["%Y-%m-%d"],
                                                help="only documents dated on or after this day"),
    until: Optional[dt.datetime] = typer.Option(None, formats=["%Y-%m-%d"],
                                                help="only documents dated on or before this day"),
    organisation: Optional[str] = typer.Option(None, "--organisation", "--org",
                                               help="one organisation, by id or exact name"),
    connection: Optional[str] = typer.Option(
        None, help="one accounting or payments connection (accounting and payments sections)"),
    stale_days: int = typer.Option(30, min=0, help="billable time older than this is reported"),
) -> None:
    """Compare the hub with accounting, payments, vendors and its own facts; list every
    difference with the money at stake, the likely cause and the fix. Never writes."""
    from hub.reconcile import SECTIONS, Options, Totals, reconcile as run_sections, \
        skipped_sections
    from hub.reconcile.reading import Lookups, read_only
    from hub.reconcile.render import as_csv, as_json, as_summary, as_table, with_names
    from rich.console import Console
    from rich.progress import (
        BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn,
    )

    ctx = context()
    _require_schema(ctx.engine)
    if since and until and since > until:
        raise ValidationFailed("--since is after --until", hint="swap the two dates")
    if connection is not None:
        ctx.settings.connection(connection)  # a clear ConfigError naming the known ones
    options = Options(today=ctx.today(), since=since.date() if since else None,
                      until=until.date() if until else None,
                      organisation_id=_organisation_id(ctx.engine, organisation),
                      connection=connection, stale_days=stale_days)
    chosen = [s.value for s in sections or [SectionChoice.all]]
    names = list(SECTIONS) if "all" in chosen else list(dict.fromkeys(chosen))
    skipped = skipped_sections(ctx, names, options)

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), console=err_console.real(),
                  transient=True) as bar:
        differences = list(run_sections(ctx, [n for n in names if n not in skipped], options,
                                        _BarProgress(bar)))

    with read_only(ctx.engine) as reader:
        names_by_id = Lookups(reader).organisation_names(d.organisation_id for d in differences)
    differences = with_names(differences, names_by_id)
    totals = Totals.of(differences)
    if output == OutputFormat.csv:
        sys.stdout.write(as_csv(differences))
    elif output == OutputFormat.json:
        sys.stdout.write(as_json(differences, totals, names, skipped) + "\n")
    else:
        out = Console(width=None if sys.stdout.isatty() else 240, soft_wrap=False,
                      **CONSOLE_OPTIONS)
        if differences:
            out.print(as_table(differences, totals, f"reconciliation ({', '.join(names)})"))
        elif skipped:
            out.print("No differences in what was checked; NOT checked: "
                      + ", ".join(skipped) + " (see the summary).")
        else:
            out.print("No differences: the hub agrees with every system checked.")
        out.print(as_summary(totals, names, skipped))
    if output == OutputFormat.csv:  # the CSV has no room for them: say it on stderr
        for name, reason in skipped.items():
            err_console.print(f"skipped {name}: {reason}")
    raise typer.Exit(1 if differences else EXIT_NOT_CHECKED if skipped else 0)


def _require_schema(engine) -> None:
    """A database without the hub's tables gets a clear message, not a traceback."""
    from sqlalchemy import inspect

    from hub.reconcile.reading import read_only

    with read_only(engine) as reader:
        present = inspect(reader).has_table("invoice")
    if not present:
        raise ConfigError(f"the database {engine.url.render_as_string(hide_password=True)} has "
                          "no hub tables yet", hint="run `hub db upgrade` first")


def _organisation_id(engine, value: str | None) -> int | None:
    """An organisation id from ``--organisation`` (an id, or an exact name)."""
    if value is None:
        return None
    from sqlalchemy import func, select

    from hub.db.models import Organisation
    from hub.reconcile.reading import read_only
    from hub.validation.limits import MAX_ID

    with read_only(engine) as reader, reader.connect() as conn:
        if value.isdecimal():  # (isdigit takes "²", which int() refuses)
            number = int(value)
            # an id past MAX_ID cannot exist, and the database would refuse to compare it
            found = conn.execute(select(Organisation.id).where(
                Organisation.id == number)).scalar() if number <= MAX_ID else None
            if found is None:
                raise NotFound(f"no organisation {value}", hint="give an id or an exact name")
            return found
        ids = list(conn.execute(select(Organisation.id).where(
            func.lower(Organisation.name) == value.lower())).scalars())
    if not ids:
        raise NotFound(f"no organisation named {value!r}", hint="give an id or an exact name")
    if len(ids) > 1:
        raise ValidationFailed(f"{len(ids)} organisations are named {value!r} ({ids})",
                               hint="give the id instead")
    return ids[0]


def register(app: typer.Typer) -> None:
    """Add ``hub reconcile``."""
    app.command("reconcile")(reconcile)
