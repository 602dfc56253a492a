"""Billing commands: ``hub bill ...`` (runs as preview → confirm batches), ``hub invoice ...``
(one-time, from a ticket, proforma) and ``hub contract ...`` (billing contracts and cycles).

Refusals are :mod:`hub.errors` exceptions; the CLI boundary prints them as one line.
"""

from __future__ import annotations

from enum import Enum
from typing import List, Optional

import typer

from hub.cli.helpers import parse_date, parse_issue_date
from hub.cli.ids import id_argument, id_option
from hub.cli.invoice_tables import render_batch, render_invoice, render_settlement
from hub.cli.listing import FORMAT, LIMIT, OFFSET, OutputFormat, emit
from hub.cli.state import Table, console, context
from hub.core.money import shown

__all__ = ["register", "parse_date", "render_batch", "render_invoice"]

bill_app = typer.Typer(help="Billing runs: preview a batch, look at it, confirm or discard it.",
                       no_args_is_help=True)
invoice_app = typer.Typer(help="One-time and proforma invoices.", no_args_is_help=True)
contract_app = typer.Typer(help="Billing contracts and their cycles.", no_args_is_help=True)


def _session():
    from hub.db.engine import session_scope

    return session_scope(context().engine)


@bill_app.command("preview")
def bill_preview(date: Optional[str] = typer.Option(None, "--date", help="run date (YYYY-MM-DD); "
                                                    "may be in the future"),
                 limit: int = typer.Option(20, min=1, max=1000, help="invoices to show")
                 ) -> None:
    """Make a preview batch of DRAFT invoices for everything due on or before DATE."""
    from hub.billing import preview
    from hub.billing.views import batch_view

    run_date = parse_date(date)
    summary = preview(context(), run_date)
    if summary.batch_id is None:
        console.print(f"{summary.nothing_due()}; no batch stored.")
        return
    with _session() as session:
        render_batch(batch_view(session, summary.batch_id, limit=limit))
    console.print(f"Confirm with `hub bill confirm {summary.batch_id}` or discard with "
                  f"`hub bill discard {summary.batch_id}`.")


@bill_app.command("confirm")
def bill_confirm(batch: int = id_argument("batch id")) -> None:
    """Finalise the batch's invoices: numbers, ledger, charges invoiced, outbox rows."""
    from hub.billing import confirm

    summary = confirm(context(), batch)
    console.print(f"Batch {batch} confirmed: {summary.invoices} invoice(s) finalised.")


@bill_app.command("discard")
def bill_discard(batch: int = id_argument("batch id")) -> None:
    """Throw a preview batch away (its drafts are deleted, reservations released)."""
    from hub.billing import discard

    discard(context(), batch)
    console.print(f"Batch {batch} discarded.")


_PROVENANCE_HELP = "list under each line the devices, users, licences or time entries " \
                   "that made its quantity"


@bill_app.command("show")
def bill_show(batch: int = id_argument("batch id"),
              limit: Optional[int] = typer.Option(None, min=1, max=1000,
                                                  help="invoices to show (default: all)"),
              provenance: bool = typer.Option(False, "--provenance", help=_PROVENANCE_HELP)
              ) -> None:
    """Every invoice of a batch and, per line, the change and its cause (and with
    --provenance, the items behind each quantity)."""
    from hub.billing.views import batch_view

    with _session() as session:
        render_batch(batch_view(session, batch, limit=limit), provenance=provenance)


class BatchStatusChoice(str, Enum):
    """Batch statuses a list can filter on."""

    preview = "preview"
    confirmed = "confirmed"
    discarded = "discarded"


class InvoiceStatusChoice(str, Enum):
    """Invoice statuses a list can filter on."""

    draft = "draft"
    unpaid = "unpaid"
    pending = "pending"
    partially_paid = "partially_paid"
    paid = "paid"
    paid_from_balance = "paid_from_balance"
    overdue = "overdue"
    deleted = "deleted"


@bill_app.command("list")
def bill_list(status: Optional[BatchStatusChoice] = typer.Option(None, case_sensitive=False),
              limit: int = LIMIT, offset: int = OFFSET, fmt: OutputFormat = FORMAT) -> None:
    """The latest billing batches."""
    from hub.billing.views import list_batches

    with _session() as session:
        rows = list_batches(session, limit=limit, offset=offset,
                            status=status.value if status else None)
    emit(rows, ["id", "run_date", "status", "invoice_count", "left_out", "created_at"], fmt)


@invoice_app.command("list")
def invoice_list(org: Optional[int] = id_option(help="organisation id"),
                 status: Optional[InvoiceStatusChoice] = typer.Option(None, case_sensitive=False),
                 limit: int = LIMIT, offset: int = OFFSET, fmt: OutputFormat = FORMAT) -> None:
    """The latest invoices (overdue statuses brought up to today first)."""
    from hub.billing.views import list_invoices
    from hub.ledger import run_overdue_check

    run_overdue_check(context())
    with _session() as session:
        rows = list_invoices(session, organisation_id=org,
                             status=status.value if status else None, limit=limit,
                             offset=offset)
    emit(rows, ["id", "number", "organisation", "kind", "status", "issue_date", "total",
                "currency"], fmt)


@invoice_app.command("show")
def invoice_show(invoice: int = id_argument("invoice id"),
                 provenance: bool = typer.Option(False, "--provenance", help=_PROVENANCE_HELP)
                 ) -> None:
    """An invoice with its lines and changes (and with --provenance, the items behind each
    line's quantity), then what settled it: payments and credit notes, and what is due."""
    from hub.billing.views import invoice_view
    from hub.db.models import Invoice
    from hub.ledger import links_of_invoice

    with _session() as session:
        data = invoice_view(session, invoice)
        links = links_of_invoice(session, invoice)
        stored = session.get(Invoice, invoice)
        settled = {"paid": stored.amount_paid, "credited": stored.credit_applied,
                   "due": stored.amount_due}
    render_invoice(data, provenance=provenance)
    render_settlement(data["currency"], settled, links)


@invoice_app.command("create")
def invoice_create(org: int = id_argument("organisation id"),
                   date: Optional[str] = typer.Option(None, help="issue date"),
                   proforma: bool = typer.Option(False, help="a proforma (never final)"),
                   note: str = typer.Option("", help="note on the invoice")) -> None:
    """A new draft one-time (or proforma) invoice; add lines, then `hub invoice finalise`."""
    from hub.billing.invoices import create_invoice

    with _session() as session:
        invoice = create_invoice(context(), session, org, issue_date=parse_issue_date(date),
                                 proforma=proforma, note=note)
        console.print(f"Draft invoice {invoice.id} created.")


@invoice_app.command("add-line")
def invoice_add_line(invoice: int = id_argument("invoice id"),
                     product: Optional[str] = typer.Option(None, help="catalogue product code"),
                     description: Optional[str] = typer.Option(None),
                     qty: str = typer.Option("1", help="quantity"),
                     price: Optional[str] = typer.Option(None, help="unit price"),
                     tax: Optional[str] = typer.Option(None, help="tax rate in %")) -> None:
    """Add a manual item or a catalogue product to a draft invoice."""
    from hub.billing.invoices import add_line
    from hub.db.models import Invoice

    with _session() as session:
        line = add_line(session, invoice, description=description, product_code=product,
                        quantity=qty, unit_price=price, tax_rate=tax)
        currency = session.get(Invoice, line.invoice_id).currency
        console.print(f"Line {line.id} added: {line.description} "
                      f"{shown(line.amount, currency)}")


@invoice_app.command("edit-line")
def invoice_edit_line(line: int = id_argument("invoice line id"),
                      description: str = typer.Argument(...)) -> None:
    """Change a line's description."""
    from hub.billing.invoices import edit_line_description

    with _session() as session:
        edit_line_description(session, line, description)
        console.print(f"Line {line} updated.")


@invoice_app.command("finalise")
def invoice_finalise(invoice: int = id_argument("invoice id")) -> None:
    """Finalise a one-time draft: number, ledger, outbox."""
    from hub.billing.invoices import finalise

    with _session() as session:
        done = finalise(context(), session, invoice)
        console.print(f"Invoice {done.number} finalised: {shown(done.total, done.currency)}")


@invoice_app.command("from-ticket")
def invoice_from_ticket(ticket: int = id_argument("ticket id"),
                        finalise_now: bool = typer.Option(False, "--finalise",
                                                          help="finalise at once")) -> None:
    """A draft invoice from a ticket's charged time and items."""
    from hub.billing.invoices import finalise, invoice_from_ticket as make

    with _session() as session:
        invoice = make(context(), session, ticket)
        if finalise_now:
            finalise(context(), session, invoice.id)
        console.print(f"Invoice {invoice.number or 'draft ' + str(invoice.id)} from ticket "
                      f"{ticket}: {shown(invoice.total, invoice.currency)}")


@invoice_app.command("load-future-items")
def invoice_load_future_items(invoice: int = id_argument("invoice id")) -> None:
    """Take the organisation's waiting future items into this draft."""
    from hub.billing.invoices import load_future_items

    with _session() as session:
        lines = load_future_items(session, invoice)
        console.print(f"{len(lines)} future item(s) added.")


@invoice_app.command("convert-proforma")
def invoice_convert_proforma(proforma: int = id_argument("proforma invoice id")) -> None:
    """Make a final invoice from a proforma (the proforma is kept)."""
    from hub.billing.invoices import convert_proforma

    with _session() as session:
        invoice = convert_proforma(context(), session, proforma)
        console.print(f"Proforma {proforma} converted into invoice {invoice.number}.")


def _components(done) -> None:
    """The contract invoice's components: each line with quantity, price, amount, pro-rata."""
    inv = done.invoice
    render_invoice({
        "id": inv.id, "number": inv.number, "organisation": f"contract {done.contract_id}",
        "period_start": inv.period_start, "period_end": inv.period_end,
        "issue_date": inv.issue_date, "status": "preview" if done.preview else inv.status,
        "lines": [{"change": None, "tax_amount": 0, "prorata_note": None, **line}
                  for line in done.lines],
        "total": inv.total, "tax_total": inv.tax_total, "currency": inv.currency,
        "extra_fields": inv.extra_fields}, title=(
            f"Contract {done.contract_id} cycle {done.cycle_number}: components"))


@contract_app.command("invoice")
def contract_invoice(contract: int = id_argument("billing contract id"),
                     cycle: Optional[int] = typer.Option(None, help="cycle number (default: "
                                                         "the next un-invoiced one)"),
                     replace: bool = typer.Option(False, help="invoice an invoiced cycle again "
                                                  "(the existing invoice is kept)"),
                     post_tasks: bool = typer.Option(False, "--post-tasks",
                                                     help="run charge/sync/send as enabled"),
                     preview_only: bool = typer.Option(False, "--preview",
                                                       help="show the components, generate "
                                                            "nothing")) -> None:
    """Generate one contract's invoice for a cycle (--preview: show what it would hold)."""
    from hub.billing.contracts import invoice_contract

    done = invoice_contract(context(), contract, cycle=cycle, replace=replace,
                            post_tasks=post_tasks, preview=preview_only)
    inv = done.invoice
    if done.preview:
        _components(done)
    word = "would be" if done.preview else "invoiced as " + inv.number
    console.print(f"Contract {contract} cycle {done.cycle_number} ({inv.period_start} – "
                  f"{inv.period_end}) {word}: {shown(inv.total, inv.currency)}"
                  + (f"; replaces invoice {done.replaced_invoice_id}"
                     if done.replaced_invoice_id else ""))


@contract_app.command("invoice-many")
def contract_invoice_many(contracts: List[int] = id_argument("contract ids"),
                          post_tasks: bool = typer.Option(False, "--post-tasks"),
                          preview_only: bool = typer.Option(
                              False, "--preview", help="show each contract's components, "
                                                       "generate nothing")) -> None:
    """Invoice each contract's next un-invoiced cycle, contract by contract.

    Per contract, not all-or-nothing: one that cannot be invoiced is reported with the reason
    and the others are still invoiced. Every contract's outcome is listed; the exit status is
    1 when any contract was not invoiced.
    """
    from hub.billing.contracts import invoice_many

    outcomes = invoice_many(context(), contracts, post_tasks=post_tasks, preview=preview_only)
    table = Table("Contract", "Cycle", "Period", "Outcome", "Total",
                  title="would be invoiced (preview)" if preview_only else "invoiced")
    for done in outcomes:
        if preview_only and done.ok:
            _components(done)
        if not done.ok:
            table.add_row(str(done.contract_id), "—", "—", f"NOT invoiced: {done.error}", "")
            continue
        inv = done.invoice
        table.add_row(str(done.contract_id), str(done.cycle_number),
                      f"{inv.period_start} – {inv.period_end}",
                      "preview" if done.preview else f"invoiced as {inv.number}",
                      shown(inv.total, inv.currency))
    console.print(table)
    failed = [d for d in outcomes if not d.ok]
    console.print(f"{len(outcomes) - len(failed)} of {len(outcomes)} contract(s) "
                  + ("would be invoiced" if preview_only else "invoiced")
                  + (f"; not invoiced: {', '.join(str(d.contract_id) for d in failed)}"
                     if failed else "") + ".")
    if failed:
        raise typer.Exit(1)


@contract_app.command("cycles")
def contract_cycles(contract: int = id_argument("billing contract id")) -> None:
    """A contract's cycles; the preselected (next un-invoiced) one is marked."""
    from hub.billing.contracts import cycles_of, preselected_cycle

    with _session() as session:
        chosen = preselected_cycle(session, contract)
        table = Table("Cycle", "From", "To", "Invoice", "")
        for c in cycles_of(session, contract):
            table.add_row(str(c.number), str(c.start), str(c.end), str(c.invoice_id or "—"),
                          "preselected" if chosen is not None and c.id == chosen.id else "")
        console.print(table)


def register(app: typer.Typer) -> None:
    """Add ``bill``, ``invoice`` and ``contract`` (setup commands: billing_setup.py)."""
    app.add_typer(bill_app, name="bill")
    app.add_typer(invoice_app, name="invoice")
    app.add_typer(contract_app, name="contract")
