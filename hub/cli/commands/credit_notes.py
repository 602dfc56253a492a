"""Credit-note commands: ``hub credit-note create|apply|list|show``.

A credit note corrects an invoice (whole, a share, or some lines) or stands alone as account
credit. Invoices and credit notes are named by number or id (``id:N`` always means the id);
dates default to today by the hub's clock.
"""

from __future__ import annotations

from typing import List, Optional

import typer

from hub.cli.helpers import (
    CREDIT_NOTE_REF, INVOICE_REF, invoice_id_of, ledger_session, parse_amount, parse_date,
    parse_pairs, print_json,
)
from hub.cli.ids import id_option
from hub.cli.listing import (
    FORMAT, LIMIT, OFFSET, OutputFormat, emit, page, shown_amount, shown_money,
)
from hub.cli.state import console, context

__all__ = ["register"]

credit_app = typer.Typer(help="Credit notes: correct an invoice, or give account credit.",
                         no_args_is_help=True)


@credit_app.command("create")
def credit_create(invoice: Optional[str] = typer.Option(
                      None, help=f"invoice to correct: {INVOICE_REF}"),
                  organisation: Optional[int] = id_option(help="for a standalone one"),
                  whole: bool = typer.Option(False, help="credit every line of the invoice"),
                  percent: Optional[str] = typer.Option(None, help="credit this share"),
                  line: List[str] = typer.Option([], help="DESCRIPTION=AMOUNT, repeatable"),
                  apply: bool = typer.Option(True, help="apply to the invoice's amount due"),
                  reason: str = typer.Option(""), date: Optional[str] = typer.Option(None)) -> None:
    """Create a credit note against an invoice (whole, part, lines) or standalone."""
    from hub.ledger import CreditLine, create_credit_note

    settings = context().settings
    with ledger_session() as session:
        note = create_credit_note(
            session, organisation_id=organisation,
            invoice_id=invoice_id_of(session, invoice) if invoice else None,
            lines=[CreditLine(d, parse_amount(a, f"--line {d}"))
                   for d, a in parse_pairs(line, "--line").items()],
            whole=whole, percent=percent, date=parse_date(date), today=context().today(),
            reason=reason, apply=apply, number_format=settings.company.credit_note_number_format,
            partner_id=settings.company.partner_id)
        console.print(f"credit note {note.number}: {shown_money(note.total, note.currency)}")


@credit_app.command("apply")
def credit_apply(credit_note: str = typer.Argument(..., help=CREDIT_NOTE_REF),
                 invoice: str = typer.Argument(..., help=INVOICE_REF),
                 amount: Optional[str] = typer.Option(None)) -> None:
    """Apply a credit note's unapplied credit to an invoice."""
    from hub.ledger import apply_credit_note, find_credit_note

    with ledger_session() as session:
        note = find_credit_note(session, credit_note)
        inv = apply_credit_note(session, note.id, invoice_id_of(session, invoice), amount,
                                today=context().today())
        console.print(f"invoice {inv.number}: {inv.status}, due "
                      f"{shown_money(inv.amount_due, inv.currency)}")


@credit_app.command("list")
def credit_list(organisation: Optional[int] = id_option(help="organisation id"),
                limit: int = LIMIT, offset: int = OFFSET, fmt: OutputFormat = FORMAT) -> None:
    """Credit notes, newest first: number, date, total, the invoice it corrects, where it was
    applied."""
    from sqlmodel import select

    from hub.db.models import CreditNote
    from hub.ledger import links_of_credit_note

    with ledger_session() as session:
        query = select(CreditNote).order_by(CreditNote.id.desc())
        if organisation is not None:
            query = query.where(CreditNote.organisation_id == organisation)
        rows = []
        for note in session.exec(page(query, limit, offset)):
            links = links_of_credit_note(session, note.id)
            rows.append({"id": note.id, "number": note.number, "date": note.date,
                         "organisation_id": note.organisation_id, "total": note.total,
                         "currency": note.currency,
                         "against": links["against_invoice_number"],
                         "applied": ", ".join(
                             f"{i['number']}:{shown_amount(i['applied'], note.currency)}"
                             for i in links["invoices"])})
    emit(rows, ["id", "number", "date", "organisation_id", "total", "currency", "against",
                "applied"], fmt)


@credit_app.command("show")
def credit_show(credit_note: str = typer.Argument(..., help=CREDIT_NOTE_REF)) -> None:
    """A credit note with its lines and the invoices it is linked to."""
    from hub.ledger import credit_note_view, find_credit_note

    with ledger_session() as session:
        print_json(credit_note_view(session, find_credit_note(session, credit_note)))


# ------------------------------------------------------------------------------ accounts


def register(app: typer.Typer) -> None:
    """Add ``hub credit-note`` to the ``hub`` app."""
    app.add_typer(credit_app, name="credit-note")
