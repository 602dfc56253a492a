"""``hub statement`` and ``hub prebill ...`` (seed 002 statements, seed 003 pre-bills)."""

from __future__ import annotations

from typing import Optional

import typer

from hub.cli.helpers import parse_optional_date as _date
from hub.cli.helpers import ledger_session, print_json
from hub.cli.ids import id_argument, id_option
from hub.cli.listing import FORMAT, LIMIT, OFFSET, OutputFormat, emit, page, shown_money
from hub.cli.state import console, context

__all__ = ["register"]

_PERIOD_HELP = "this-month, last-month, this-year or last-year (instead of --start/--end)"
_MODE_HELP = "documents (finance documents) or transactions"

prebill_app = typer.Typer(help="Pre-bills: bill a stage up-front, attach WIP later.",
                          no_args_is_help=True)


def statement_cmd(organisation: int = id_argument("organisation id"),
                  start: Optional[str] = typer.Option(None, "--start", "--from",
                                                      help="first day, YYYY-MM-DD"),
                  end: Optional[str] = typer.Option(None, "--end", "--to",
                                                    help="last day, YYYY-MM-DD"),
                  period: Optional[str] = typer.Option(None, "--period", help=_PERIOD_HELP),
                  mode: str = typer.Option("documents", "--mode", help=_MODE_HELP),
                  transactions: bool = typer.Option(False, "--transactions",
                                                    help="same as --mode transactions")
                  ) -> None:
    """A statement of finance documents (or transactions) for a period, with the totals.
    Takes the same period options as ``hub pdf statement`` and ``hub send statement``."""
    from hub.cli.commands.documents import _period
    from hub.ledger import statement

    first, last = _period(period, start, end, context().today())
    with ledger_session() as session:
        st = statement(session, organisation, first, last,
                       "transactions" if transactions else mode)
    if st.mode == "documents":
        for row in st.documents:
            links = ", ".join(row.links) or "-"
            console.print(f"{row.date}\t{row.kind}\t{row.number}\t{row.amount}\t{row.status}"
                          f"\t{links}", highlight=False)
        t = st.totals
        console.print(f"Total invoiced: {t.invoiced} ({t.invoiced_count})  paid: {t.paid} "
                      f"({t.paid_count})  unpaid: {t.unpaid} ({t.unpaid_count})")
        paid = "  ".join(f"{method}: {amount}" for method, amount in st.paid_by_method.items())
        console.print(f"Total paid by method: {paid or 'none'}", highlight=False)
    else:
        console.print(f"opening balance {st.opening_balance}")
        for row, running in st.transactions:
            console.print(f"{row.date}\t{row.side}\t{row.amount}\t{running}\t{row.description}")
        console.print(f"closing balance {st.closing_balance}")


@prebill_app.command("create")
def prebill_create(organisation: int = id_argument("organisation id"),
                   project: str = typer.Option(...),
                   stage: str = typer.Option(...), fee: str = typer.Option(..., help="stage fee"),
                   percent: Optional[str] = typer.Option(None, help="Invoiced %"),
                   value: Optional[str] = typer.Option(None, help="Total ex. tax"),
                   date: Optional[str] = typer.Option(None)) -> None:
    """Pre-bill a stage by percentage or value (a final invoice)."""
    from hub.ledger import create_prebill

    ctx = context()
    with ledger_session() as session:
        pb = create_prebill(session, organisation, project=project, stage=stage, stage_fee=fee,
                            percent=percent, value=value, issue_date=_date(date) or ctx.today(),
                            due_days=ctx.settings.company.payment_due_days,
                            number_format=ctx.settings.company.invoice_number_format,
                            partner_id=ctx.settings.company.partner_id, today=ctx.today())
        console.print(f"pre-bill {pb.id}: {shown_money(pb.amount, pb.currency)} "
                      f"(invoice {pb.invoice_id})")


@prebill_app.command("wip")
def prebill_wip(organisation: int = id_argument("organisation id"),
                project: str = typer.Option(...),
                stage: str = typer.Option(...), value: str = typer.Option(...),
                date: Optional[str] = typer.Option(None),
                description: str = typer.Option("")) -> None:
    """Record a WIP transaction on a stage."""
    from hub.ledger import add_wip

    with ledger_session() as session:
        row = add_wip(session, organisation, project=project, stage=stage, value=value,
                      date=_date(date) or context().today(), description=description)
        console.print(f"WIP {row.id}: {shown_money(row.value, row.currency)}")


@prebill_app.command("options")
def prebill_options(prebill: int = id_argument("pre-bill id"),
                    method: str = typer.Option("all", help="all, range, closest"),
                    start: Optional[str] = typer.Option(None),
                    end: Optional[str] = typer.Option(None)) -> None:
    """The options offered for attaching WIP (markup, markdown, exact)."""
    from hub.ledger import attach_options

    with ledger_session() as session:
        options = attach_options(session, prebill, method, start=_date(start), end=_date(end))
    print_json([{"use": o.use, "wip": list(o.wip), "wip_total": o.wip_total.rounded().amount,
                 "billed": o.billed.rounded().amount, "close": o.close,
                 "balance_after": o.balance_after.rounded().amount} for o in options])


@prebill_app.command("attach")
def prebill_attach(prebill: int = id_argument("pre-bill id"),
                   method: str = typer.Option("all", help="all, range, closest"),
                   use: str = typer.Option(..., help="markup, markdown or exact"),
                   start: Optional[str] = typer.Option(None),
                   end: Optional[str] = typer.Option(None),
                   close: bool = typer.Option(False, help="close even with a balance left")
                   ) -> None:
    """Attach WIP to the pre-bill."""
    from hub.ledger import attach_wip

    with ledger_session() as session:
        result = attach_wip(session, prebill, method, use, start=_date(start), end=_date(end),
                            close=close or None, when=context().clock())
    console.print(f"attached {len(result.billed)} WIP; balance {result.balance_after}"
                  f"{' (closed)' if result.closed else ''}")


@prebill_app.command("close")
def prebill_close(prebill: int = id_argument("pre-bill id")) -> None:
    """Close a pre-bill's remaining balance."""
    from hub.ledger import close_prebill

    with ledger_session() as session:
        close_prebill(session, prebill, when=context().clock())
    console.print(f"pre-bill {prebill} closed")


@prebill_app.command("list")
def prebill_list(organisation: Optional[int] = id_option(help="organisation id"),
                 limit: int = LIMIT, offset: int = OFFSET, fmt: OutputFormat = FORMAT) -> None:
    """Pre-bills, newest first, with what is left of each (its balance)."""
    from sqlmodel import select

    from hub.db.models import PreBill
    from hub.ledger import prebill_balance

    with ledger_session() as session:
        query = select(PreBill).order_by(PreBill.id.desc())
        if organisation is not None:
            query = query.where(PreBill.organisation_id == organisation)
        rows = [{"id": pb.id, "organisation_id": pb.organisation_id, "project": pb.project,
                 "stage": pb.stage, "amount": pb.amount, "currency": pb.currency,
                 "balance": prebill_balance(session, pb.id).amount}
                for pb in session.exec(page(query, limit, offset))]
    emit(rows, ["id", "organisation_id", "project", "stage", "amount", "currency", "balance"],
         fmt)


def register(app: typer.Typer) -> None:
    """Add ``hub statement`` and ``hub prebill``."""
    app.command("statement")(statement_cmd)
    app.add_typer(prebill_app, name="prebill")
