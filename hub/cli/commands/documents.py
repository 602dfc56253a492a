"""Customer documents: ``hub pdf invoice|credit-note|statement|templates`` and
``hub send invoice|credit-note|statement|list``."""

from __future__ import annotations

import datetime as dt
import shutil
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

from hub.cli import state as cli_state
from hub.cli.helpers import CREDIT_NOTE_REF, INVOICE_REF, file_target, folder_target, write_file
from hub.cli.ids import id_argument, id_option
from hub.cli.listing import FORMAT, LIMIT, OFFSET, OutputFormat, emit
from hub.cli.state import console
from hub.errors import ValidationFailed

__all__ = ["register", "pdf_app", "send_app"]

pdf_app = typer.Typer(help="Invoices, credit notes and statements as PDF files.",
                      no_args_is_help=True)
send_app = typer.Typer(help="Email invoices, credit notes and statements to customers; list "
                            "what was sent.", no_args_is_help=True)

_MODE_HELP = "documents (invoices, payments, credit notes) or transactions (with balance)"


def _date(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(f"{option} {value!r} is not a date",
                               hint=f"write it as YYYY-MM-DD, e.g. {option} 2026-01-31") from None


def context():
    """The hub context for documents. Third-party plugins are not loaded: printing or sending
    an invoice needs none, and a broken plugin must not stop it (`hub plugins` shows why)."""
    if cli_state.state._context is None:
        from hub.host.context import HubContext
        from hub.host.plugins import build_plugin_host

        cli_state.state._context = HubContext.from_settings(
            cli_state.settings(), plugins=build_plugin_host(load_entry_points=False))
    return cli_state.state._context


def _invoice_id(ref: str) -> int:
    """The id of the invoice named by number or id (what the documents print; ``id:N`` is
    always the id)."""
    from hub.db.engine import session_scope
    from hub.ledger import find_invoice

    with session_scope(context().engine) as session:
        return find_invoice(session, ref).id


def _credit_note_id(ref: str) -> int:
    """The id of the credit note named by number or id."""
    from hub.db.engine import session_scope
    from hub.ledger import find_credit_note

    with session_scope(context().engine) as session:
        return find_credit_note(session, ref).id


def _period(period: Optional[str], start: Optional[str], end: Optional[str],
            today: dt.date) -> tuple[dt.date, dt.date]:
    """The statement period: ``--period NAME`` or both ``--start``/``--from`` and
    ``--end``/``--to`` (the same options as ``hub statement``)."""
    from hub.customer_docs.statement_data import NAMED_PERIODS, statement_period

    if period is not None:
        if start or end:
            raise ValidationFailed("give --period or --from/--to, not both",
                                   hint=f"--period is one of {', '.join(NAMED_PERIODS)}")
        return statement_period(period, today)
    if not (start and end):
        raise ValidationFailed("a statement needs a period",
                               hint="give --from YYYY-MM-DD --to YYYY-MM-DD, or --period "
                                    "last-month")
    return _date(start, "--from"), _date(end, "--to")


_PERIOD_HELP = "this-month, last-month, this-year or last-year (instead of --from/--to)"


def _renderer():
    from hub.customer_docs import DocumentRenderer

    ctx = context()
    return ctx, DocumentRenderer(ctx.settings, today=ctx.today)


def _check_output(output: Optional[Path]) -> None:
    """Refuse an --output that cannot be written before the PDF is rendered."""
    if output is not None and not output.is_dir():
        file_target(output, "--output")


def _write(document, output: Optional[Path]) -> None:
    target = output or Path(document.filename)
    if target.is_dir():
        target = target / document.filename
    write_file(target, document.pdf, "--output")
    console.print(f"wrote {target} ({len(document.pdf):,} bytes)", highlight=False)


@pdf_app.command("invoice")
def pdf_invoice(invoice_id: str = typer.Argument(..., help=INVOICE_REF),
                output: Optional[Path] = typer.Option(None, "--output", "-o",
                                                      help="file or folder to write")) -> None:
    """Write an invoice's PDF (default: ./invoice-NUMBER.pdf)."""
    from hub.db.engine import session_scope

    _check_output(output)
    ctx, renderer = _renderer()
    with session_scope(ctx.engine) as session:
        document = renderer.invoice(session, _invoice_id(invoice_id))
    _write(document, output)


@pdf_app.command("credit-note")
def pdf_credit_note(credit_note_id: str = typer.Argument(..., help=CREDIT_NOTE_REF),
                    output: Optional[Path] = typer.Option(None, "--output", "-o")) -> None:
    """Write a credit note's PDF (default: ./credit-note-NUMBER.pdf)."""
    from hub.db.engine import session_scope

    _check_output(output)
    ctx, renderer = _renderer()
    with session_scope(ctx.engine) as session:
        document = renderer.credit_note(session, _credit_note_id(credit_note_id))
    _write(document, output)


@pdf_app.command("statement")
def pdf_statement(organisation_id: int = id_argument("organisation id"),
                  start: Optional[str] = typer.Option(None, "--start", "--from",
                                                      help="first day, YYYY-MM-DD"),
                  end: Optional[str] = typer.Option(None, "--end", "--to",
                                                   help="last day, YYYY-MM-DD"),
                  period: Optional[str] = typer.Option(None, "--period", help=_PERIOD_HELP),
                  mode: str = typer.Option("documents", "--mode", help=_MODE_HELP),
                  output: Optional[Path] = typer.Option(None, "--output", "-o")) -> None:
    """Write an organisation's statement for a period."""
    from hub.db.engine import session_scope

    _check_output(output)
    ctx, renderer = _renderer()
    first, last = _period(period, start, end, ctx.today())
    with session_scope(ctx.engine) as session:
        document = renderer.statement(session, organisation_id, first, last, mode)
    _write(document, output)


@pdf_app.command("templates")
def pdf_templates(copy_to: Optional[Path] = typer.Option(
        None, "--copy", help="copy the packaged templates here to edit them (then set "
                             "company.templates_dir to this folder)")) -> None:
    """List the templates (PDF layout, style and email texts); --copy them to edit."""
    from hub.customer_docs.templating import PACKAGED_DIR, packaged_templates

    names = packaged_templates()
    if copy_to is None:
        for name in names:
            console.print(name, highlight=False)
        return
    folder_target(copy_to, "--copy")
    copied = 0
    for name in names:
        target = copy_to / name
        if target.exists():
            continue  # never overwrite an edited template
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(PACKAGED_DIR / name, target)
        except OSError as exc:
            raise ValidationFailed(f"--copy {copy_to}: cannot write {target} ({exc.strerror})",
                                   hint="give a folder you can write to") from None
        copied += 1
    console.print(f"copied {copied} template(s) to {copy_to}; set company.templates_dir = "
                  f"\"{copy_to}\" in hub.toml", highlight=False)


def _report(outcome) -> None:
    record = outcome.record
    if outcome.delivered_now:
        console.print(f"sent {record.document_kind.replace('_', ' ')} {record.reference} to "
                      f"{record.to} (send {record.id})", highlight=False)
    else:
        console.print(f"already sent to {record.to} at {record.sent_at} (send {record.id}); "
                      "nothing sent again", highlight=False)
    if record.error:
        console.print(f"note: {record.error}", highlight=False)


@send_app.command("invoice")
def send_invoice(invoice_ref: str = typer.Argument(..., metavar="INVOICE",
                                                  help=INVOICE_REF),
                 to: Optional[List[str]] = typer.Option(
                     None, "--to", help="recipient (repeat for more); default: the "
                                        "organisation's email"),
                 queue: bool = typer.Option(False, "--queue",
                                            help="send from a job (retried on failure) instead "
                                                 "of now")) -> None:
    """Email an invoice with its PDF now (or --queue it as a retried job)."""
    from hub.customer_docs.sending import new_request_key, queue_invoice_send
    from hub.customer_docs.sending import send_invoice as deliver

    ctx = context()
    invoice_id = _invoice_id(invoice_ref)
    if queue:
        row_id = queue_invoice_send(ctx.engine, invoice_id, to=list(to) if to else None)
        console.print(f"queued (outbox {row_id}); a running `hub run`/`hub worker` sends it and "
                      "retries failures; see `hub send list`", highlight=False)
        return
    payload = {"request": new_request_key(), **({"to": list(to)} if to else {})}
    _report(deliver(ctx, invoice_id, payload))


@send_app.command("credit-note")
def send_credit_note(credit_note_ref: str = typer.Argument(..., metavar="CREDIT_NOTE",
                                                           help=CREDIT_NOTE_REF),
                     to: Optional[List[str]] = typer.Option(None, "--to",
                                                            help="recipient (repeatable)")
                     ) -> None:
    """Email a credit note with its PDF."""
    from hub.customer_docs.sending import send_credit_note as deliver

    _report(deliver(context(), _credit_note_id(credit_note_ref), to=list(to) if to else None))


@send_app.command("statement")
def send_statement(organisation_id: int = id_argument("organisation id"),
                   start: Optional[str] = typer.Option(None, "--start", "--from",
                                                       help="first day, YYYY-MM-DD"),
                   end: Optional[str] = typer.Option(None, "--end", "--to",
                                                   help="last day, YYYY-MM-DD"),
                   period: Optional[str] = typer.Option(None, "--period", help=_PERIOD_HELP),
                   mode: str = typer.Option("documents", "--mode", help=_MODE_HELP),
                   email: Optional[List[str]] = typer.Option(
                       None, "--email", help="recipient (repeatable); default: the "
                                             "organisation's email")) -> None:
    """Email an organisation's statement for a period (PDF attached)."""
    from hub.customer_docs.sending import new_request_key
    from hub.customer_docs.sending import send_statement as deliver

    ctx = context()
    first, last = _period(period, start, end, ctx.today())
    _report(deliver(ctx, organisation_id, first, last, mode, to=list(email) if email else None,
                    request_key=new_request_key("statement")))


class SendKind(str, Enum):
    """The documents a send carries."""

    invoice = "invoice"
    credit_note = "credit_note"
    statement = "statement"


#: The columns of ``hub send list``: a table keeps to what fits a terminal, JSON and CSV carry
#: every one.
_SEND_TABLE = ["id", "document", "to", "subject", "status", "attempts", "last_attempt_at",
               "error"]
_SEND_ALL = ["id", "document_kind", "document_id", "reference", "request_key", "to", "subject",
             "status", "attempts", "error", "message_id", "created_at", "last_attempt_at",
             "sent_at"]


@send_app.command("list")
def send_list(failed: bool = typer.Option(False, "--failed", help="failed sends only"),
              kind: Optional[SendKind] = typer.Option(None, "--kind", case_sensitive=False,
                                                      help="invoice, credit_note or statement"),
              document_id: Optional[int] = id_option("--id", help="document id"),
              limit: int = LIMIT, offset: int = OFFSET, fmt: OutputFormat = FORMAT,
              as_json: bool = typer.Option(False, "--json", help="same as --format json")
              ) -> None:
    """Every send with its status, attempts and the server's answer, newest first."""
    from hub.customer_docs.sending import list_sends

    rows = list_sends(context().engine, kind=kind.value if kind else None,
                      document_id=document_id, failed_only=failed, limit=limit, offset=offset)
    fmt = OutputFormat.json if as_json else fmt
    if fmt is OutputFormat.table and not rows:
        console.print("no failed sends" if failed else "nothing sent yet")
        return
    shown = [{**row.model_dump(),
              "document": f"{row.document_kind} {row.document_id} {row.reference}"}
             for row in rows]
    emit(shown, _SEND_TABLE if fmt is OutputFormat.table else _SEND_ALL, fmt)


def invoice_sends(invoice_id: int = id_argument("invoice id"),
                  as_json: bool = typer.Option(False, "--json", help="machine-readable")) -> None:
    """Every email send of an invoice: to whom, status, attempts, the server's answer."""
    send_list(failed=False, kind=SendKind.invoice, document_id=invoice_id, limit=10000,
              offset=0, fmt=OutputFormat.table, as_json=as_json)


def _extend_invoice_app() -> None:
    """``hub invoice pdf ID`` and ``hub invoice sends ID`` on the billing area's ``hub invoice``
    (added here, so neither module edits the other; a name billing already uses is left alone)."""
    try:
        from hub.cli.commands.billing import invoice_app
    except ImportError:
        return
    taken = {info.name or (info.callback.__name__.replace("_", "-") if info.callback else None)
             for info in invoice_app.registered_commands}
    if "pdf" not in taken:
        invoice_app.command("pdf")(pdf_invoice)
    if "sends" not in taken:
        invoice_app.command("sends")(invoice_sends)


def register(app: typer.Typer) -> None:
    """Add ``hub pdf`` and ``hub send``, and ``pdf``/``sends`` to ``hub invoice``."""
    app.add_typer(pdf_app, name="pdf")
    app.add_typer(send_app, name="send")
    _extend_invoice_app()
