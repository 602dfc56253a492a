"""Ledger commands: ``hub payment ...``, ``hub ledger ...`` (invoice actions: mark paid, pay
from balance, edit, delete, links, overdue check), ``hub credit-note ...`` and
``hub account ...``.

Invoices are named by number or id; ``id:N`` always means the id (a bare ``5`` that is one
invoice's number and another's id is refused). Dates default to today by the hub's clock.
"""

from __future__ import annotations

import json
from typing import List, Optional

import typer

from hub.cli.helpers import (
    INVOICE_REF, invoice_amounts, invoice_id_of, ledger_session, parse_date, parse_pairs,
    print_json,
)
from hub.cli.ids import id_argument, id_option
from hub.cli.listing import (
    FORMAT, LIMIT, OFFSET, OutputFormat, emit, page, shown_amount, shown_money,
)
from hub.cli.state import console, context
from hub.errors import ValidationFailed

__all__ = ["register", "parse_pairs", "print_json"]

payment_app = typer.Typer(help="Payments and refunds.", no_args_is_help=True)
ledger_app = typer.Typer(help="Invoice actions on the ledger: pay, edit, delete, links.",
                         no_args_is_help=True)
account_app = typer.Typer(help="A customer's account: balance, calendar, reminders.",
                          no_args_is_help=True)


def _tell_account_changes() -> None:
    """After a committed payment: tell plugins about accounts it unblocked."""
    from hub.ledger import notify_state_changes

    notify_state_changes(context())


# ------------------------------------------------------------------------------ payments
@payment_app.command("add")
def payment_add(organisation: int = id_argument("organisation id"),
                amount: str = typer.Argument(..., help="e.g. 120.00; whole minor units of the "
                                             "currency (finer amounts are refused)"),
                currency: Optional[str] = typer.Option(
                    None, help="must be the organisation's currency (the default)"),
                method: str = typer.Option("other", help="card, bank_transfer, cash, check, ..."),
                date: Optional[str] = typer.Option(None, help="YYYY-MM-DD (default today)"),
                invoice: Optional[str] = typer.Option(None,
                                                      help=f"pay this invoice: {INVOICE_REF}"),
                allocate: List[str] = typer.Option(
                    [], help="INVOICE=AMOUNT, repeatable; INVOICE as for --invoice"),
                reference: str = typer.Option("", help="cheque number, bank reference, ...")) -> None:
    """Record a payment: for one invoice (--invoice), split (--allocate, not with --invoice),
    or allocated automatically: open debit transactions first (oldest first), then unpaid
    invoices in the order they were created (seed 002), the rest stays as account credit."""
    from hub.ledger import record_payment

    with ledger_session() as session:
        allocations = invoice_amounts(session, allocate, "--allocate") or None
        pay = record_payment(session, organisation, amount, date=parse_date(date),
                             today=context().today(), method=method,
                             invoice_id=invoice_id_of(session, invoice) if invoice else None,
                             allocations=allocations, reference=reference, currency=currency)
        console.print(f"payment {pay.id}: {shown_money(pay.amount, pay.currency)} ({pay.method})")
    _tell_account_changes()


@payment_app.command("list")
def payment_list(organisation: Optional[int] = id_option(help="organisation id"),
                 limit: int = LIMIT, offset: int = OFFSET, fmt: OutputFormat = FORMAT) -> None:
    """Payments and refunds, newest first, with the invoices they paid."""
    from sqlmodel import select

    from hub.db.models import Payment
    from hub.ledger import links_of_payment

    with ledger_session() as session:
        query = select(Payment).order_by(Payment.id.desc())
        if organisation is not None:
            query = query.where(Payment.organisation_id == organisation)
        rows = []
        for p in session.exec(page(query, limit, offset)):
            links = links_of_payment(session, p.id)["invoices"]
            rows.append({"id": p.id, "date": p.date, "kind": "refund" if p.amount < 0 else
                         "payment", "organisation_id": p.organisation_id, "amount": p.amount,
                         "currency": p.currency, "method": p.method, "status": p.status,
                         "paid": ", ".join(
                             f"{i['number']}:{shown_amount(i['applied'], p.currency)}"
                             for i in links),
                         "reference": p.reference, "note": p.note})
    # a table keeps to what fits a terminal; JSON and CSV carry every column
    emit(rows, ["id", "date", "kind", "amount", "currency", "method", "status", "paid"]
         if fmt is OutputFormat.table else
         ["id", "date", "kind", "organisation_id", "amount", "currency", "method", "status",
          "paid", "reference", "note"], fmt)


@payment_app.command("refund")
def payment_refund(payment: int = id_argument("payment id"),
                   amount: Optional[str] = typer.Option(None, help="default: all refundable"),
                   reason: str = typer.Option(""),
                   date: Optional[str] = typer.Option(None)) -> None:
    """Refund (part of) a payment: recorded as a negative payment. A payment taken by a
    processor (Stripe) is refunded there; the refund enters the ledger when it confirms."""
    from hub.db.models import Payment
    from hub.ledger import refund_where_taken

    with ledger_session() as session:
        row = refund_where_taken(session, payment, amount, date=parse_date(date),
                                 processors=context().connection_names("payments"),
                                 today=context().today(), reason=reason)
        if not isinstance(row, Payment):
            console.print(f"refund of {shown_money(row.payload['amount'], row.payload['currency'])} "
                          f"requested from {row.connection}; it is recorded when "
                          f"{row.connection} confirms")
            return
        console.print(f"refund {row.id}: {shown_money(row.amount, row.currency)}")


@payment_app.command("refund-balance")
def payment_refund_balance(organisation: int = id_argument("organisation id"),
                           amount: str = typer.Argument(..., help="e.g. 40.00; at most the "
                                                        "account's free credit"),
                           method: str = typer.Option("bank_transfer",
                                                      help="how the money goes back: "
                                                           "bank_transfer, check, cash, ..."),
                           reason: str = typer.Option("", help="why (shown on statements)"),
                           date: Optional[str] = typer.Option(None, help="YYYY-MM-DD (default "
                                                                         "today)")) -> None:
    """Pay account credit back to the customer (an overpayment or a credit note's credit that
    no invoice will use): recorded as a negative payment, drawn from the oldest credit first,
    and pushed to accounting like any payment."""
    from hub.ledger import refund_from_balance

    with ledger_session() as session:
        row = refund_from_balance(session, organisation, amount, date=parse_date(date),
                                  method=method, reason=reason, today=context().today())
        console.print(f"refund {row.id}: {shown_money(row.amount, row.currency)} of account "
                      f"credit paid back to organisation {organisation} ({row.method})")


@payment_app.command("allocate")
def payment_allocate(payment: int = id_argument("payment id"),
                     pairs: List[str] = typer.Argument(
                         ..., help=f"INVOICE=AMOUNT ...; INVOICE is the {INVOICE_REF}")) -> None:
    """Allocate the unallocated part of a payment to invoices."""
    from hub.ledger import allocate_payment

    with ledger_session() as session:
        wanted = invoice_amounts(session, pairs, "allocation")
        rows = allocate_payment(session, payment, wanted, today=context().today())
        console.print(f"payment {payment}: {len(rows)} allocation(s)")


# ------------------------------------------------------------------------------ invoice actions
@ledger_app.command("mark-paid")
def mark_paid_cmd(invoice: str = typer.Argument(..., help=INVOICE_REF),
                  method: str = typer.Option("other"),
                  date: Optional[str] = typer.Option(None)) -> None:
    """Quick payment: mark the invoice paid for its whole amount due."""
    from hub.db.models import Invoice
    from hub.ledger import mark_paid

    with ledger_session() as session:
        invoice_id = invoice_id_of(session, invoice)
        pay = mark_paid(session, invoice_id, date=parse_date(date), today=context().today(),
                        method=method)
        number = session.get(Invoice, invoice_id).number  # not the reference as typed (id:5)
        console.print(f"invoice {number} paid by payment {pay.id} "
                      f"({shown_money(pay.amount, pay.currency)})")
    _tell_account_changes()


@ledger_app.command("pay-from-balance")
def pay_from_balance(invoice: str = typer.Argument(..., help=INVOICE_REF),
                     amount: Optional[str] = typer.Option(None)) -> None:
    """Pay an invoice from the customer's account credit."""
    from hub.ledger import apply_account_credit

    with ledger_session() as session:
        inv = apply_account_credit(session, invoice_id_of(session, invoice), amount,
                                   today=context().today())
        console.print(f"invoice {inv.number}: {inv.status}, due "
                      f"{shown_money(inv.amount_due, inv.currency)}")


@ledger_app.command("edit")
def edit_cmd(invoice: str = typer.Argument(..., help=INVOICE_REF),
             note: Optional[str] = typer.Option(None),
             memo: Optional[str] = typer.Option(None),
             issue_date: Optional[str] = typer.Option(None, help="document date"),
             due_date: Optional[str] = typer.Option(None, help="payment due date"),
             number: Optional[str] = typer.Option(None),
             extra: List[str] = typer.Option([], help="extra field NAME=VALUE, repeatable"),
             lines: Optional[str] = typer.Option(
                 None, help='JSON list of {"description","quantity","unit_price","tax_rate"}')
             ) -> None:
    """Edit an invoice within its status' rules; a synced invoice is refused (credit it)."""
    from hub.ledger import edit_invoice
    from hub.validation import parse
    from hub.validation.records import InvoiceChanges
    from hub.validation.changes import nothing_changed

    changes: dict = {k: v for k, v in {"note": note, "memo": memo, "issue_date": issue_date,
                                       "due_date": due_date, "number": number}.items()
                     if v is not None}
    if extra:
        changes["extra_fields"] = parse_pairs(extra, "--extra")
    if lines is not None:
        try:
            changes["lines"] = json.loads(lines)
        except json.JSONDecodeError as exc:
            raise ValidationFailed(f"--lines is not JSON: {exc}") from None
    if not changes:
        raise ValidationFailed("nothing to change", hint="give --note, --memo, --due-date, ...")
    # The API's rules (InvoiceChanges), before the database is opened.
    changes = parse(InvoiceChanges, changes, what=f"invoice {invoice}").given()
    with ledger_session() as session:
        inv = edit_invoice(session, invoice_id_of(session, invoice), changes,
                           today=context().today())
        if nothing_changed(session):
            console.print(f"invoice {inv.number}: nothing changed")
        else:
            console.print(f"invoice {inv.number} updated ({', '.join(sorted(changes))})")


@ledger_app.command("delete")
def delete_cmd(invoice: str = typer.Argument(..., help=INVOICE_REF),
               completely: bool = typer.Option(
                   False, "--completely", help="delete for good instead of marking as deleted")
               ) -> None:
    """Mark an unpaid invoice as deleted, or delete it completely (not recommended)."""
    from hub.ledger import delete_completely, mark_deleted

    with ledger_session() as session:
        invoice_id = invoice_id_of(session, invoice)
        result = (delete_completely(session, invoice_id, today=context().today()) if completely
                  else mark_deleted(session, invoice_id, when=context().clock()))
        if result.number is None:  # a draft outside any batch: removed either way
            console.print(f"draft invoice {result.invoice_id} deleted")
        else:
            console.print(f"invoice {result.number} "
                          f"{'deleted' if completely else 'marked as deleted'}")
        for warning in result.warnings:
            console.print(f"warning: {warning}")


@ledger_app.command("cancel-last-recurring")
def cancel_last(organisation: int = id_argument("organisation id")) -> None:
    """Cancel the organisation's last recurring invoice (delete it and its auto transaction)."""
    from hub.ledger import cancel_last_recurring_invoice

    with ledger_session() as session:
        result = cancel_last_recurring_invoice(session, organisation, today=context().today())
        console.print(f"recurring invoice {result.number} cancelled")
        for warning in result.warnings:
            console.print(f"warning: {warning}")


@ledger_app.command("links")
def links_cmd(invoice: str = typer.Argument(..., help=INVOICE_REF)) -> None:
    """Show the payments and credit notes linked to an invoice."""
    from hub.ledger import links_of_invoice

    with ledger_session() as session:
        print_json(links_of_invoice(session, invoice_id_of(session, invoice)))


@ledger_app.command("overdue")
def overdue_cmd() -> None:
    """Mark invoices past their due date overdue and tell the plugins (hub_invoice_overdue)."""
    from hub.ledger import run_overdue_check

    found = run_overdue_check(context())
    console.print(f"{len(found)} invoice(s) became overdue")


@account_app.command("show")
def account_show(organisation: int = id_argument("organisation id")) -> None:
    """Balance, account credit, what is due, the calendar (next due, block, deactivation)
    and the account's state (active, blocked, deactivated) with its recorded changes."""
    from hub.ledger import account_state_view, account_summary, calendar_view, run_overdue_check

    ctx = context()
    run_overdue_check(ctx)  # statuses as of today, as the invoice list shows them
    with ledger_session() as session:
        view = calendar_view(session, organisation, today=ctx.today(),
                             default_due_days=ctx.settings.company.payment_due_days)
        print_json({**account_summary(session, organisation),
                    **account_state_view(session, organisation),
                    "next_billing": view.next_billing.billing_date,
                    "next_due": view.next_billing.due_date,
                    "next_block": view.next_billing.block_date,
                    "next_deactivation": view.next_billing.deactivation_date,
                    "block_state": view.block_state, "triggered_by": view.triggered_by})


@account_app.command("next-block-date")
def account_next_block_date(organisation: int = id_argument("organisation id"),
                            date: str = typer.Argument(..., help="YYYY-MM-DD")) -> None:
    """Set next block date (seed 002): move the block date once, for the current unpaid
    invoice; afterwards the configured date applies again. Refused once blocked."""
    from hub.ledger import set_next_block_date

    with ledger_session() as session:
        set_next_block_date(session, organisation, parse_date(date), today=context().today())
        console.print(f"organisation {organisation}: next block date {parse_date(date)}")


@account_app.command("calendar-run")
def account_calendar_run() -> None:
    """Apply every account's calendar now (the daily `account_calendar` job does this): block
    or deactivate accounts whose dates came, lift those a payment brought back."""
    from hub.ledger import run_account_calendar

    made = run_account_calendar(context())
    console.print(f"{len(made)} account state change(s)")


@account_app.command("reminders")
def account_reminders(organisation: int = id_argument("organisation id")) -> None:
    """Reminder send dates for the unpaid and partially paid invoices."""
    from hub.ledger import reminders

    ctx = context()
    with ledger_session() as session:
        for r in reminders(session, organisation, ctx.settings.billing.reminder_days,
                           today=ctx.today()):
            console.print(f"{r.invoice_key}\t+{r.days_after} days\t{r.send_on}\t"
                          f"{r.days_remaining} days remaining")


@account_app.command("transaction")
def account_transaction(organisation: int = id_argument("organisation id"),
                        side: str = typer.Option(..., help="debit or credit"),
                        amount: str = typer.Option(...), description: str = typer.Option(""),
                        date: Optional[str] = typer.Option(None)) -> None:
    """Add a manual debit or credit transaction."""
    from hub.ledger import add_transaction

    with ledger_session() as session:
        tx = add_transaction(session, organisation, side=side, amount=amount, date=parse_date(date),
                             description=description, today=context().today())
        console.print(f"transaction {tx.id}: {tx.side} {shown_money(tx.amount, tx.currency)}")


@account_app.command("config")
def account_config(organisation: int = id_argument("organisation id"),
                   setting: List[str] = typer.Argument(None, help="NAME=VALUE, e.g. "
                                                       "minimum_balance=-50 blocking_days=2; "
                                                       "none: show the config")) -> None:
    """Show or set billing config values (minimum balance, blocking/deactivation days,
    holidays); NAME= (no value) clears a setting that can be empty (holiday_country, holidays,
    ...); setting values already stored changes nothing and says so."""
    from hub.ledger import account_config as config_of, set_account_config
    from hub.validation.accounts import AccountConfigChanges
    from hub.validation.changes import cleared_value, nothing_changed

    values: dict = {}
    for name, raw in parse_pairs(setting or [], "setting").items():
        if not raw.strip():  # "NAME=": clear it, or a refusal saying it cannot be empty
            values[name] = cleared_value(AccountConfigChanges, name)
        else:
            values[name] = json.loads(raw) if raw.startswith("[") else raw  # holidays lists
    with ledger_session() as session:
        if not values:
            print_json(config_of(session, organisation).model_dump())
            return
        row = set_account_config(session, organisation, **values)
        if nothing_changed(session):
            console.print(f"Billing config of organisation {organisation}: nothing changed.")
            return
        cleared = [name for name, value in values.items() if value in (None, [])]
        if cleared:
            console.print(f"Billing config of organisation {organisation}: "
                          f"{', '.join(cleared)} cleared.")
        print_json(row.model_dump())


def register(app: typer.Typer) -> None:
    """Add the ledger command groups to the ``hub`` app."""
    app.add_typer(payment_app, name="payment")
    app.add_typer(ledger_app, name="ledger")
    app.add_typer(account_app, name="account")
