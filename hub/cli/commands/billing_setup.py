"""Setting up what is billed: ``hub org ...`` (organisations, contacts, assets, products,
tickets, charges, future items), ``hub recurring ...`` (recurring invoices, lines, invoice
groups) and ``hub contract create|add-line``."""

from __future__ import annotations

import json
from typing import List, Optional

import typer

from hub.cli.commands.billing import contract_app
from hub.cli.helpers import parse_date
from hub.cli.ids import id_argument, id_option
from hub.cli.state import console, context
from hub.errors import ValidationFailed

__all__ = ["register"]

org_app = typer.Typer(help="Organisations and what they have: contacts, assets, tickets.",
                      no_args_is_help=True)
recurring_app = typer.Typer(help="Recurring invoices, their lines and invoice groups.",
                            no_args_is_help=True)


def _session():
    from hub.db.engine import session_scope

    return session_scope(context().engine)


def _json(value: Optional[str], what: str) -> dict:
    if not value:
        return {}
    try:
        data = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(f"{what} is not JSON: {exc}",
                               hint='write e.g. \'{"asset_type": ["workstation"]}\'') from None
    if not isinstance(data, dict):
        raise ValidationFailed(f"{what} must be a JSON object")
    return data


@org_app.command("create")
def org_create(name: str, currency: Optional[str] = typer.Option(
                   None, help="ISO 4217 code; default: [company] currency in hub.toml"),
               email: Optional[str] = None,
               billing_day: int = 1, auto_bill: bool = False,
               require_group: bool = typer.Option(False, help="new agreements must join a group")
               ) -> None:
    """A new organisation."""
    from hub.billing.catalogue import create_organisation

    with _session() as s:
        org = create_organisation(s, name, currency=currency, email=email,
                                  billing_day=billing_day, auto_bill=auto_bill,
                                  require_invoice_group=require_group,
                                  default_currency=context().settings.company.currency)
        console.print(f"Organisation {org.id} created: {org.name}")


@org_app.command("add-contact")
def org_add_contact(org: int = id_argument("organisation id"), name: str = typer.Argument(...),
                    email: Optional[str] = None,
                    attributes: Optional[str] = typer.Option(
                        None, help='JSON, e.g. \'{"remote_access": true}\'')) -> None:
    """A contact; attributes feed user counters."""
    from hub.billing.catalogue import add_contact

    with _session() as s:
        c = add_contact(s, org, name, email=email, attributes=_json(attributes, "--attributes"))
        console.print(f"Contact {c.id} added.")


@org_app.command("add-asset")
def org_add_asset(org: int = id_argument("organisation id"), name: str = typer.Argument(...),
                  asset_type: str = "workstation",
                  policy: Optional[str] = None, status: str = "active") -> None:
    """A managed device."""
    from hub.billing.catalogue import add_asset

    with _session() as s:
        a = add_asset(s, org, name, asset_type=asset_type, policy=policy, status=status)
        console.print(f"Asset {a.id} added.")


@org_app.command("add-product")
def org_add_product(code: str, name: str, price: str, tax: str = "0",
                    kind: str = "service", currency: Optional[str] = typer.Option(
                        None, help="ISO 4217 code; default: [company] currency")) -> None:
    """A catalogue product or service."""
    from hub.billing.catalogue import add_product

    with _session() as s:
        p = add_product(s, code, name, price, tax_rate=tax, kind=kind, currency=currency,
                        default_currency=context().settings.company.currency)
        console.print(f"Product {p.code} added.")


@org_app.command("ticket")
def org_ticket(org: int = id_argument("organisation id"), number: str = typer.Argument(...),
               subject: str = typer.Argument(...), status: str = "New") -> None:
    """Open a ticket."""
    from hub.billing.catalogue import open_ticket

    with _session() as s:
        t = open_ticket(s, org, number, subject, status=status)
        console.print(f"Ticket {t.id} (#{t.number}) opened.")


@org_app.command("ticket-charge")
def org_ticket_charge(ticket: int = id_argument("ticket id"),
                      description: str = typer.Argument(...), qty: str = "1", price: str = "0",
                      labor: bool = True, charged: bool = False) -> None:
    """Add time or an item to a ticket (labour starts Not Charged unless --charged)."""
    from hub.billing.catalogue import add_ticket_charge

    with _session() as s:
        c = add_ticket_charge(s, ticket, description, quantity=qty, unit_price=price,
                              is_labor=labor, charged=charged)
        console.print(f"Charge {c.id} added ({c.labor_status.value}).")


@org_app.command("charge-labor")
def org_charge_labor(charge: int = id_argument("ticket charge id")) -> None:
    """Not Charged → Charged."""
    from hub.billing.catalogue import charge_labor

    with _session() as s:
        charge_labor(s, charge)
        console.print(f"Charge {charge} is now charged.")


@org_app.command("future-item")
def org_future_item(org: int = id_argument("organisation id"),
                    description: str = typer.Argument(...),
                    amount: str = typer.Argument(...),
                    date: Optional[str] = None) -> None:
    """A debit (+) or credit (-) for the next invoice."""
    from hub.billing.catalogue import add_future_item

    with _session() as s:
        item = add_future_item(s, org, description, amount, parse_date(date))
        console.print(f"Future item {item.id} added.")


@recurring_app.command("create")
def recurring_create(org: int = id_argument("organisation id"),
                     start: str = typer.Option(..., help="service start"),
                     name: str = "Recurring invoice", frequency: str = "monthly",
                     interval: int = 1, billing_day: Optional[int] = None,
                     bill_from_start: bool = typer.Option(
                         False, help="first invoice on the start date (else next billing day)"),
                     auto_bill: Optional[bool] = None,
                     ticket_charges: bool = typer.Option(False, help="add pending ticket charges"),
                     ticket_status: List[str] = typer.Option([], help="only these statuses"),
                     order: str = "oldest_first",
                     group: Optional[int] = id_option(help="join this invoice group")) -> None:
    """A recurring invoice (joins a group when the account requires one)."""
    from hub.billing.recurring import create_recurring

    with _session() as s:
        r = create_recurring(s, org, parse_date(start), name=name, frequency=frequency,
                             interval=interval, billing_day=billing_day,
                             first_run="start" if bill_from_start else "next",
                             auto_bill=auto_bill, add_pending_ticket_charges=ticket_charges,
                             ticket_status_filter=ticket_status, ticket_charge_order=order,
                             group_id=group, today=context().today())
        console.print(f"Recurring invoice {r.id} created; next run {r.next_run_date}.")


def _add_line(owner: dict, line_type: str, description: Optional[str], price: Optional[str],
              qty: str, tax: Optional[str], product: Optional[str], filters: Optional[str]):
    from hub.billing.recurring import add_recurring_line

    with _session() as s:
        line = add_recurring_line(s, **owner, line_type=line_type, description=description,
                                  unit_price=price, quantity=qty, tax_rate=tax,
                                  product_code=product, filters=_json(filters, "--filters"))
        console.print(f"Line {line.id} added ({line.line_type}).")


@recurring_app.command("add-line")
def recurring_add_line(recurring: int = id_argument("recurring invoice id"),
                       line_type: str = typer.Option("standard", "--type"),
                       description: Optional[str] = None, price: Optional[str] = None,
                       qty: str = "1", tax: Optional[str] = None, product: Optional[str] = None,
                       filters: Optional[str] = typer.Option(None, help="counter filters JSON")
                       ) -> None:
    """A template line: standard, asset_counter, user_counter or vendor_usage."""
    _add_line({"recurring_id": recurring}, line_type, description, price, qty, tax, product,
              filters)


@recurring_app.command("group-create")
def recurring_group_create(org: int = id_argument("organisation id"),
                           description: str = typer.Argument(...),
                           date: str = typer.Option(..., help="the group's next invoice date"),
                           frequency: str = "monthly",
                           combine: bool = typer.Option(
                               False, "--combine/--separate",
                               help="one invoice per period for all the group's agreements "
                                    "(each agreement's lines shown), or one per agreement")
                           ) -> None:
    """An invoice group aligned to DATE's day."""
    from hub.billing.recurring import create_group

    with _session() as s:
        g = create_group(s, org, description, parse_date(date), frequency=frequency,
                         combine=combine)
        console.print(f"Invoice group {g.id} created, aligned to day {g.align_day}"
                      + ("; its agreements are invoiced together." if combine else "."))


@recurring_app.command("group-combine")
def recurring_group_combine(group: int = id_argument("invoice group id"),
                            combine: bool = typer.Option(
                                ..., "--combine/--separate",
                                help="one invoice per period for all agreements, or one each")
                            ) -> None:
    """Choose how an invoice group's agreements are invoiced (from the next run)."""
    from hub.billing.recurring import set_combine

    with _session() as s:
        set_combine(s, group, combine)
        console.print(f"Invoice group {group}: "
                      + ("one combined invoice per period." if combine
                         else "one invoice per agreement."))


@recurring_app.command("join")
def recurring_join(recurring: int = id_argument("recurring invoice id"),
                   group: int = id_argument("invoice group id")) -> None:
    """Align a live agreement to an invoice group (pro-rata added for the gap)."""
    from hub.billing.recurring import join_group

    with _session() as s:
        r = join_group(s, recurring, group)
        console.print(f"Recurring invoice {recurring} joined group {group}: next run "
                      f"{r.next_run_date}, billed from {r.covered_from}.")


@recurring_app.command("master")
def recurring_master(group: int = id_argument("invoice group id"),
                     recurring: int = id_argument("recurring invoice id")) -> None:
    """Make RECURRING the group's master agreement."""
    from hub.billing.recurring import set_master

    with _session() as s:
        set_master(s, group, recurring)
        console.print(f"Recurring invoice {recurring} is now the master of group {group}.")


@contract_app.command("create")
def contract_create(org: int = id_argument("organisation id"), name: str = typer.Argument(...),
                    start: str = typer.Option(...), cycles: int = 12,
                    frequency: str = "monthly", auto_charge: bool = False,
                    auto_sync: bool = True, auto_send: bool = False) -> None:
    """A billing contract with its cycles."""
    from hub.billing.contracts import create_contract

    with _session() as s:
        c = create_contract(s, org, name, parse_date(start), cycles=cycles,
                            frequency=frequency, auto_charge=auto_charge, auto_sync=auto_sync,
                            auto_send=auto_send, today=context().today())
        console.print(f"Billing contract {c.id} created with {cycles} cycle(s).")


@contract_app.command("add-line")
def contract_add_line(contract: int = id_argument("billing contract id"),
                      line_type: str = typer.Option("standard", "--type"),
                      description: Optional[str] = None, price: Optional[str] = None,
                      qty: str = "1", tax: Optional[str] = None, product: Optional[str] = None,
                      filters: Optional[str] = typer.Option(None, help="counter filters JSON")
                      ) -> None:
    """A contract line (a subscription or a flat fee)."""
    _add_line({"contract_id": contract}, line_type, description, price, qty, tax, product,
              filters)


def register(app: typer.Typer) -> None:
    """Add ``org`` and ``recurring`` (``contract`` is added by billing.py)."""
    app.add_typer(org_app, name="org")
    app.add_typer(recurring_app, name="recurring")
