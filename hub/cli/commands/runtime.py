"""Runtime commands: ``hub worker``, ``hub scheduler``, ``hub serve``, ``hub run``,
``hub jobs list|retry``, ``hub status`` and ``hub token create``."""

from __future__ import annotations

import json
from enum import Enum
from typing import Optional

import typer

from hub.cli.ids import id_argument
from hub.cli.listing import FORMAT, LIMIT, OFFSET, OutputFormat, emit
from hub.cli.state import console, context
from hub.errors import ValidationFailed

__all__ = ["register"]

jobs_app = typer.Typer(help="Failed jobs: list and replay them.", no_args_is_help=True)
class TokenScope(str, Enum):
    """What a token may do."""

    full = "full"
    read = "read"


token_app = typer.Typer(help="Bearer tokens for the REST API.", no_args_is_help=True)


def _logging() -> None:
    from hub.jobs.logs import configure_logging

    settings = context().settings
    configure_logging(settings.log_level, settings.log_format)


def worker(threads: Optional[int] = typer.Option(None, "--threads", "-t", min=1,
                                                 help="worker threads (HUB_JOBS_WORKER_THREADS)"),
           dispatch: bool = typer.Option(True, "--dispatch/--no-dispatch",
                                         help="also turn pending outbox rows into jobs")) -> None:
    """Run jobs from the queue until SIGTERM (in-flight jobs finish first)."""
    from hub.jobs.processes import run_worker

    _logging()
    run_worker(context(), threads=threads, dispatch=dispatch)


def scheduler() -> None:
    """Send scheduled pulls, the daily billing run, reminders and overdue checks."""
    from hub.jobs.processes import run_scheduler

    _logging()
    run_scheduler(context())


def serve(host: Optional[str] = typer.Option(None, help="default: web.host"),
          port: Optional[int] = typer.Option(None, min=1, max=65535,
                                             help="default: web.port")) -> None:
    """Serve webhooks, the REST API and /docs with uvicorn."""
    from hub.jobs.processes import run_server

    _logging()
    run_server(context(), host=host, port=port)


def run(threads: Optional[int] = typer.Option(None, "--threads", "-t", min=1),
        host: Optional[str] = typer.Option(None),
        port: Optional[int] = typer.Option(None, min=1, max=65535)) -> None:
    """Worker threads, scheduler and web server in one process (the embedded defaults)."""
    from hub.jobs.processes import run_all

    _logging()
    run_all(context(), threads=threads, host=host, port=port)


@jobs_app.command("list")
def jobs_list(failed: bool = typer.Option(False, "--failed", help="failed jobs only"),
              limit: int = LIMIT, offset: int = OFFSET, fmt: OutputFormat = FORMAT) -> None:
    """Recorded jobs with their reason (newest first); replay with `hub jobs retry ID`."""
    from hub.jobs.records import list_jobs

    records = list_jobs(context().engine, failed_only=failed, limit=limit, offset=offset)
    if fmt is not OutputFormat.table:
        emit([{"id": r.id, "actor": r.actor, "args": list(r.args), "status": r.status,
               "attempts": r.attempts, "connection": r.connection,
               "document_kind": r.document_kind, "document_id": r.document_id,
               "outbox_id": r.outbox_id, "created_at": r.created_at, "reason": r.reason}
              for r in records],
             ["id", "actor", "args", "status", "attempts", "connection", "document_kind",
              "document_id", "outbox_id", "created_at", "reason"], fmt)
        return
    if not records:
        console.print("no failed jobs" if failed else "no recorded jobs")
        return
    # the table form: two lines a job, so a long reason is read whole
    for r in records:
        where = " ".join(filter(None, [
            f"connection={r.connection}" if r.connection else "",
            f"{r.document_kind}={r.document_id}" if r.document_kind else "",
            f"outbox={r.outbox_id}" if r.outbox_id else ""]))
        console.print(f"#{r.id} {r.actor}({', '.join(json.dumps(a) for a in r.args)}) "
                      f"{r.status} attempts={r.attempts} {where} at {r.created_at:%Y-%m-%d %H:%M}",
                      highlight=False, soft_wrap=True)
        console.print(f"    {r.reason}", highlight=False, soft_wrap=True)


@jobs_app.command("retry")
def jobs_retry(job_id: Optional[int] = id_argument("job id from `hub jobs list`", default=None),
               all_failed: bool = typer.Option(False, "--all", help="replay every failed job")
               ) -> None:
    """Replay a failed job (or all of them); a running worker picks it up."""
    from hub.jobs.records import retry_all_failed, retry_job
    from hub.jobs.assemble import build_runtime

    if (job_id is None) == (not all_failed):
        raise ValidationFailed("give a job id or --all, not both and not neither",
                               hint="see `hub jobs list --failed`")
    runtime = build_runtime(context())
    try:
        if all_failed:
            ids = retry_all_failed(runtime)
            console.print(f"replay requested for {len(ids)} job(s)")
        else:
            record = retry_job(runtime, job_id)
            console.print(f"replay requested for job {record.id} ({record.actor})")
        console.print("a running `hub worker` or `hub run` picks it up")
    finally:
        runtime.broker.close()


def status(as_json: bool = typer.Option(False, "--json", help="machine-readable")) -> None:
    """Queues, outbox, failed jobs, last pull and push per connection, next scheduled runs."""
    from hub.cli.state import plugin_host, settings
    from hub.jobs.status import standalone_status

    # No hub context, broker or engine: status reads through a plain driver connection, so that
    # it starts without SQLAlchemy, the ORM or Dramatiq (see hub.jobs.status).
    data = standalone_status(settings(), plugin_host())
    if as_json:
        console.print_json(json.dumps(data, default=str))
    else:
        _print_status(data)
    if data.get("broker_error"):  # printed what the database knows; now say what failed
        from hub.errors import ConnectorError

        raise ConnectorError(f"the broker (HUB_BROKER_URL) is unreachable: "
                             f"{data['broker_error']}", hint="check the URL and that Redis runs")


def _print_status(data: dict) -> None:
    """The status as text: the broker and queues, the outbox, each connection, next runs."""
    from rich.table import Table

    console.print(f"broker: {data['broker']}   queues: {data['queues'] or 'n/a'}")
    console.print(f"outbox: {data['outbox'] or 'empty'}   inbox: {data['inbox'] or 'empty'}   "
                  f"failed jobs: {data['failed_jobs']}"
                  + ("  (see `hub jobs list --failed`)" if data["failed_jobs"] else ""))
    table = Table("connection", "plugin", "last pull", "last push", "next pull")
    for name, c in data["connections"].items():
        table.add_row(name, c["plugin"], c["last_pull"] or "never", c["last_push"] or "never",
                      c["next_pull"] or "-")
    console.print(table)
    for job, when in data["next_runs"].items():
        console.print(f"next {job}: {when}")
    _print_processes_and_budgets(data)


def _print_processes_and_budgets(data: dict) -> None:
    """Live processes (heartbeats) and the shared vendor rate budgets."""
    from rich.table import Table

    if data["processes"]:
        table = Table("process", "kind", "started", "last heartbeat")
        for p in data["processes"]:
            table.add_row(p["process"], p["kind"], p["started_at"], f"{p['seen_seconds_ago']} s ago")
        console.print(table)
    else:
        console.print("processes: none reporting (no worker or scheduler running)")
    if data["rate_budgets"]:
        table = Table("rate budget", "in flight", "windows (used/limit)", "paused")
        for b in data["rate_budgets"]:
            limit = b["in_flight_limit"]
            windows = ", ".join(f"{name} {w['used']}/{w['limit']}"
                                for name, w in b["windows"].items()) or "-"
            table.add_row(b["key"], f"{b['in_flight']}/{limit}" if limit else str(b["in_flight"]),
                          windows, f"{b['paused_seconds']} s" if b["paused_seconds"] else "-")
        console.print(table)


@token_app.command("create")
def token_create(name: str = typer.Argument(..., help="who or what uses the token"),
                 scope: TokenScope = typer.Option(TokenScope.full, case_sensitive=False,
                                                  help="full (read and write) or read"),
                 expires_days: Optional[int] = typer.Option(
                     None, min=1, max=3650, help="expires after this many days (default never)")
                 ) -> None:
    """Create an API token; it is shown once and stored only as a hash."""
    import datetime as dt

    from hub.web.tokens import create_token

    ctx = context()
    expires = ctx.clock() + dt.timedelta(days=expires_days) if expires_days else None
    token = create_token(ctx.engine, name, scope=scope.value, expires_at=expires)
    console.print(f"token {name!r} ({scope.value}) created; copy it now, it is not shown again:")
    console.print(token, highlight=False, soft_wrap=True)


@token_app.command("list")
def token_list(limit: int = LIMIT, offset: int = OFFSET, fmt: OutputFormat = FORMAT) -> None:
    """Tokens: name, scope, expiry, last use, revoked (never the token itself)."""
    from hub.web.tokens import list_tokens

    emit(list_tokens(context().engine, limit=limit, offset=offset),
         ["id", "name", "scope", "created_at", "expires_at", "last_used_at", "revoked_at"], fmt)


@token_app.command("revoke")
def token_revoke(name: str = typer.Argument(..., help="the token's name")) -> None:
    """Revoke a token: it stops working at once."""
    from hub.web.tokens import revoke_token

    before = revoke_token(context().engine, name, context().clock())
    if before is not None:
        console.print(f"token {name!r} was already revoked (on {before:%Y-%m-%d %H:%M}); "
                      "nothing changed.")
        return
    console.print(f"token {name!r} revoked.")


outbox_app = typer.Typer(help="requested external effects", no_args_is_help=True)


@outbox_app.command("repush")
def outbox_repush(kind: str = typer.Argument(..., help="invoice, credit_note or payment"),
                  document_id: int = id_argument("the document's id"),
                  connection: str = typer.Option(..., "--connection", "-c",
                                                 help="accounting connection to push to")) -> None:
    """Push a document to an accounting connection again (safe: never duplicates)."""
    from hub.jobs.repush import repush

    ctx = context()
    ctx.settings.connection(connection)  # a clear error for a misspelt connection name
    row = repush(ctx.engine, kind.replace("-", "_"), document_id, connection)
    console.print(f"queued outbox row {row.id}: push {kind} {document_id} to {connection}")


def register(app: typer.Typer) -> None:
    """Add the runtime commands to the ``hub`` CLI."""
    app.command("worker")(worker)
    app.command("scheduler")(scheduler)
    app.command("serve")(serve)
    app.command("run")(run)
    app.command("status")(status)
    app.add_typer(jobs_app, name="jobs")
    app.add_typer(token_app, name="token")
    app.add_typer(outbox_app, name="outbox")
