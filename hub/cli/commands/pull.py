"""``hub pull NAME`` and ``hub mapping``: pull a connection now, and map source companies to
organisations (the only way facts reach an organisation; see :mod:`hub.sources.pulling`)."""

from __future__ import annotations

from typing import List, Optional

import typer

from hub.cli.ids import id_argument
from hub.cli.listing import FORMAT, LIMIT, OFFSET, OutputFormat, emit
from hub.cli.state import Table, console, context

__all__ = ["register"]

mapping_app = typer.Typer(help="Map companies/tenants seen at a source to organisations.",
                          no_args_is_help=True)


def pull(name: str = typer.Argument(..., help="connection name from hub.toml"),
         full: bool = typer.Option(False, "--full",
                                   help="list everything (not only changes); notices deletions"),
         import_organisations: bool = typer.Option(
             False, "--import-organisations",
             help="create an organisation for every unmapped company (first set-up)"),
         kind: Optional[List[str]] = typer.Option(None, "--kind",
                                                  help="only these kinds (repeatable)"),
         period: Optional[str] = typer.Option(
             None, "--period", metavar="YYYY-MM",
             help="the month whose vendor usage to pull (default: this month by the hub's "
                  "clock), e.g. next month before a preview or last month late")) -> None:
    """Pull one connection now and show what changed and what is not mapped."""
    from hub.sources.pulling import KINDS, pull_by_name
    from hub.sources.reports import usage_month

    unknown = sorted(set(kind or ()) - set(KINDS))
    if unknown:  # the service's ValueError is for callers in code; a user gets one line
        from hub.errors import ValidationFailed

        raise ValidationFailed(f"--kind {', '.join(unknown)}: no such kind",
                               hint=f"use --kind with one of {', '.join(KINDS)}")
    month = usage_month(period) if period is not None else None  # refused before any pull
    report = pull_by_name(context(), name, full=full, kinds=kind or KINDS,
                          create_organisations=import_organisations, period=month)
    title = f"pull {name}" + (f" (usage for {period.strip()})" if period is not None else "")
    table = Table(title=title)
    for column in ("kind", "created", "updated", "unchanged", "deleted", "unmapped", "pages"):
        table.add_column(column, justify="left" if column == "kind" else "right")
    for what, counts in report.kinds.items():
        table.add_row(what, *(str(getattr(counts, c)) for c in
                              ("created", "updated", "unchanged", "deleted", "unmapped", "pages")))
    console.print(table)
    for external_id, label, organisation_id, why in report.matched_organisations:
        console.print(f"matched {external_id} ({label}) to organisation {organisation_id}: {why}")
    if report.possible_matches:
        console.print(f"{len(report.possible_matches)} not imported: an organisation of the "
                      "same name exists (names alone never map). If it is the same customer:")
        for external_id, label, organisation_id, why in report.possible_matches:
            console.print(f"  hub mapping set {name} {external_id} {organisation_id}"
                          f"    # {label}: {why}")
    if report.unmapped_organisations:
        console.print(f"{len(report.unmapped_organisations)} unmapped at {name}: "
                      + ", ".join(f"{ext} ({label})" if label else ext for ext, label in
                                  report.unmapped_organisations[:20]))
        console.print(f"map them with `hub mapping set {name} EXTERNAL_ID ORGANISATION_ID`; "
                      "their facts are stored on the next pull")


@mapping_app.command("list")
def mapping_list(connection: Optional[str] = typer.Option(None, "--connection", "-c"),
                 unmapped: bool = typer.Option(False, "--unmapped",
                                               help="only companies with no organisation"),
                 limit: int = LIMIT, offset: int = OFFSET, fmt: OutputFormat = FORMAT) -> None:
    """List the mapping rows (source company -> organisation)."""
    from sqlmodel import select

    from hub.db.engine import session_scope
    from hub.db.models import Organisation, OrganisationMapping

    with session_scope(context().engine) as session:
        query = select(OrganisationMapping.id, OrganisationMapping.connection,
                       OrganisationMapping.external_id, OrganisationMapping.external_name,
                       OrganisationMapping.organisation_id, Organisation.name.label("organisation"))\
            .join(Organisation, Organisation.id == OrganisationMapping.organisation_id,
                  isouter=True).order_by(OrganisationMapping.connection,
                                         OrganisationMapping.external_id)
        if connection:
            query = query.where(OrganisationMapping.connection == connection)
        if unmapped:
            query = query.where(OrganisationMapping.organisation_id.is_(None))
        rows = [dict(r._mapping) for r in session.execute(query.limit(limit).offset(offset))]
    emit(rows, ["id", "connection", "external_id", "external_name", "organisation_id",
                "organisation"], fmt, title="organisation mapping")


@mapping_app.command("set")
def mapping_set(connection: str = typer.Argument(...), external_id: str = typer.Argument(...),
                organisation_id: int = id_argument("organisation id")) -> None:
    """Map a source company to an organisation (the next pull stores its facts)."""
    from sqlmodel import select

    from hub.db.engine import session_scope
    from hub.db.models import Organisation, OrganisationMapping
    from hub.errors import NotFound

    # A misspelt connection would store a mapping no pull ever reads: refuse it, naming the
    # configured connections, as `hub pull` and `hub outbox repush` do.
    context().settings.connection(connection)
    with session_scope(context().engine) as session:
        if session.get(Organisation, organisation_id) is None:
            raise NotFound(f"organisation {organisation_id} does not exist",
                           hint="list organisations with `hub org list`")
        row = session.exec(select(OrganisationMapping).where(
            OrganisationMapping.connection == connection,
            OrganisationMapping.external_id == external_id)).first()
        if row is None:
            row = OrganisationMapping(connection=connection, external_id=external_id)
        row.organisation_id = organisation_id
        session.add(row)
    console.print(f"{connection} {external_id} -> organisation {organisation_id}")


def register(app: typer.Typer) -> None:
    """Add ``hub pull`` and the ``hub mapping`` group."""
    app.command("pull")(pull)
    app.add_typer(mapping_app, name="mapping")
