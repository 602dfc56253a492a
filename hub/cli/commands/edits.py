"""Changing and retiring records: ``hub org edit|retire|map``, ``hub contact edit|retire``,
``hub asset edit|retire``, ``hub product edit|retire``, ``hub recurring edit|end|edit-line|
remove-line|group-edit``, ``hub contract edit|end`` and ``hub org future-item-edit|-remove``.

Options left out keep the stored value. Values go to the services as given: the rules in
:mod:`hub.validation` refuse bad ones in one line (exit 2) and nothing is stored. An edit whose
values all equal the stored ones stores nothing either, and says "nothing changed" (exit 0).
"""

from __future__ import annotations

import json
from typing import Optional

import typer

from hub.cli.commands.billing import contract_app
from hub.cli.commands.billing_setup import org_app, recurring_app
from hub.cli.ids import id_argument, id_option
from hub.cli.helpers import parse_optional_date
from hub.cli.state import console, context
from hub.errors import ValidationFailed

__all__ = ["register", "asset_app", "contact_app", "product_app"]

asset_app = typer.Typer(help="Managed devices: list, edit, retire.", no_args_is_help=True)
contact_app = typer.Typer(help="Contacts: list, edit, retire.", no_args_is_help=True)
product_app = typer.Typer(help="Catalogue products: list, edit (price), retire.",
                          no_args_is_help=True)

ID = id_argument()


def _session():
    from hub.db.engine import session_scope

    return session_scope(context().engine)


def _given(**values) -> dict:
    """The options that were given (None means "keep")."""
    given = {k: v for k, v in values.items() if v is not None}
    if not given:
        raise ValidationFailed("nothing to change", hint="give at least one option; see --help")
    return given


def _changed(session, what: str) -> None:
    """Say whether the edit just made in ``session`` changed ``what``."""
    from hub.validation.changes import nothing_changed

    console.print(f"{what}: nothing changed." if nothing_changed(session) else f"{what} changed.")


def _retired(session, what: str, done: str = "retired.") -> None:
    """Say whether the retirement just asked in ``session`` was made, or had been before
    (nothing is written then, and no second audit event)."""
    from hub.validation.changes import nothing_changed

    console.print(f"{what} was already retired: nothing changed." if nothing_changed(session)
                  else f"{what} {done}")


def _json_object(value: Optional[str], what: str) -> Optional[dict]:
    if value is None:
        return None
    try:
        data = json.loads(value)
    except json.JSONDecodeError:
        raise ValidationFailed(f"{what} is not JSON",
                               hint='write e.g. \'{"asset_type": ["workstation"]}\'') from None
    if not isinstance(data, dict):
        raise ValidationFailed(f"{what} must be a JSON object", hint='write e.g. \'{"k": "v"}\'')
    return data


@org_app.command("edit")
def org_edit(org: int = ID, name: Optional[str] = None, currency: Optional[str] = None,
             email: Optional[str] = None, billing_day: Optional[int] = None,
             due_days: Optional[int] = typer.Option(None, help="days until invoices are due"),
             auto_bill: Optional[bool] = typer.Option(None, "--auto-bill/--no-auto-bill"),
             require_group: Optional[bool] = typer.Option(None,
                                                          "--require-group/--no-require-group")
             ) -> None:
    """Change an organisation (currency, e-mail, billing day, ...)."""
    from hub.billing.editing import edit_organisation

    with _session() as s:
        edit_organisation(s, org, _given(name=name, currency=currency, email=email,
                                         billing_day=billing_day, payment_due_days=due_days,
                                         auto_bill=auto_bill,
                                         require_invoice_group=require_group))
    _changed(s, f"Organisation {org}")


@org_app.command("retire")
def org_retire(org: int = ID) -> None:
    """Stop billing an organisation; its documents stay."""
    from hub.billing.editing import retire_organisation

    with _session() as s:
        retire_organisation(s, org)
    _retired(s, f"Organisation {org}", "retired: no longer billed.")


@org_app.command("reactivate")
def org_reactivate(org: int = ID) -> None:
    """Bill a retired organisation again; what fell due meanwhile is caught up."""
    from hub.billing.editing import reactivate_organisation

    with _session() as s:
        reactivate_organisation(s, org)
    console.print(f"Organisation {org} reactivated: billed again from its next run.")


@org_app.command("map")
def org_map(mapping: int = ID, org: Optional[int] = id_option(help="organisation id"),
            unmap: bool = typer.Option(False, help="forget the link")) -> None:
    """Point a connector's company (a mapping) at an organisation, or unmap it."""
    from hub.billing.editing import map_organisation
    from hub.validation.changes import nothing_changed

    if (org is None) == (not unmap):
        raise ValidationFailed("give either --org ID or --unmap")
    with _session() as s:
        map_organisation(s, mapping, {"organisation_id": org})
    if nothing_changed(s):
        console.print(f"Mapping {mapping}: nothing changed.")
    else:
        console.print(f"Mapping {mapping} " + (f"now points at organisation {org}." if org
                                               else "unmapped."))


@org_app.command("future-item-edit")
def future_item_edit(item: int = ID, description: Optional[str] = None,
                     amount: Optional[str] = None) -> None:
    """Change a future item no invoice has taken yet."""
    from hub.billing.schedule_edits import edit_future_item

    with _session() as s:
        edit_future_item(s, item, _given(description=description, amount=amount))
    _changed(s, f"Future item {item}")


@org_app.command("future-item-remove")
def future_item_remove(item: int = ID) -> None:
    """Remove a future item no invoice has taken yet."""
    from hub.billing.schedule_edits import remove_future_item

    with _session() as s:
        remove_future_item(s, item)
    console.print(f"Future item {item} removed.")


@contact_app.command("edit")
def contact_edit(contact: int = ID, name: Optional[str] = None, email: Optional[str] = None,
                 attributes: Optional[str] = typer.Option(None, help="JSON object")) -> None:
    """Change a contact."""
    from hub.billing.editing import edit_contact

    with _session() as s:
        edit_contact(s, contact, _given(name=name, email=email,
                                        attributes=_json_object(attributes, "--attributes")))
    _changed(s, f"Contact {contact}")


@contact_app.command("retire")
def contact_retire(contact: int = ID) -> None:
    """The person left: no longer counted."""
    from hub.billing.editing import retire_contact

    with _session() as s:
        retire_contact(s, contact, context().clock())
    _retired(s, f"Contact {contact}")


@asset_app.command("edit")
def asset_edit(asset: int = ID, name: Optional[str] = None,
               asset_type: Optional[str] = typer.Option(None, "--type"),
               policy: Optional[str] = None, status: Optional[str] = None) -> None:
    """Change a device's name, type, policy or status."""
    from hub.billing.editing import edit_asset

    with _session() as s:
        edit_asset(s, asset, _given(name=name, asset_type=asset_type, policy=policy,
                                    status=status))
    _changed(s, f"Asset {asset}")


@asset_app.command("retire")
def asset_retire(asset: int = ID) -> None:
    """The device is gone: no longer counted; old invoices keep it."""
    from hub.billing.editing import retire_asset

    with _session() as s:
        retire_asset(s, asset, context().clock())
    _retired(s, f"Asset {asset}")


@product_app.command("edit")
def product_edit(code: str, name: Optional[str] = None, price: Optional[str] = None,
                 tax: Optional[str] = None, kind: Optional[str] = None,
                 description: Optional[str] = None,
                 update_lines: bool = typer.Option(
                     False, help="recurring lines at the old price take the new one")) -> None:
    """Change a product (a price rise)."""
    from hub.billing.editing import edit_product
    from hub.validation.changes import nothing_changed

    with _session() as s:
        _, moved = edit_product(s, code, _given(name=name, unit_price=price, tax_rate=tax,
                                                kind=kind, description=description),
                                update_lines=update_lines)
    if nothing_changed(s):
        console.print(f"Product {code}: nothing changed.")
    else:
        console.print(f"Product {code} changed" + (f"; {moved} line(s) follow the new price."
                                                   if update_lines else "."))


@product_app.command("retire")
def product_retire(code: str) -> None:
    """No new line can use the product."""
    from hub.billing.editing import retire_product

    with _session() as s:
        retire_product(s, code)
    _retired(s, f"Product {code}")


@recurring_app.command("edit")
def recurring_edit(recurring: int = ID, name: Optional[str] = None,
                   end: Optional[str] = typer.Option(None, help="last day billed (YYYY-MM-DD)"),
                   auto_bill: Optional[bool] = typer.Option(None, "--auto-bill/--no-auto-bill"),
                   ticket_charges: Optional[bool] = typer.Option(
                       None, "--ticket-charges/--no-ticket-charges"),
                   order: Optional[str] = None,
                   due_days: Optional[int] = typer.Option(None, help="days until due")) -> None:
    """Change a recurring invoice."""
    from hub.billing.schedule_edits import edit_recurring

    with _session() as s:
        edit_recurring(s, recurring, _given(
            name=name, end_date=parse_optional_date(end), auto_bill=auto_bill,
            add_pending_ticket_charges=ticket_charges, ticket_charge_order=order,
            payment_due_days=due_days))
    _changed(s, f"Recurring invoice {recurring}")


@recurring_app.command("end")
def recurring_end(recurring: int = ID,
                  on: str = typer.Option(..., "--on", help="last day billed (YYYY-MM-DD)")
                  ) -> None:
    """End an agreement: billed up to and including --on, then no more."""
    from hub.billing.schedule_edits import end_recurring
    from hub.validation.changes import nothing_changed

    with _session() as s:
        end_recurring(s, recurring, parse_optional_date(on))
    if nothing_changed(s):
        console.print(f"Recurring invoice {recurring} already ends after {on}: nothing changed.")
    else:
        console.print(f"Recurring invoice {recurring} ends after {on}.")


@recurring_app.command("edit-line")
def recurring_edit_line(line: int = ID, description: Optional[str] = None,
                        price: Optional[str] = None, qty: Optional[str] = None,
                        tax: Optional[str] = None,
                        filters: Optional[str] = typer.Option(None, help="counter filters JSON")
                        ) -> None:
    """Change a template line (a price rise, a new quantity or filter)."""
    from hub.billing.schedule_edits import edit_line
    from hub.validation.changes import line_changes

    with _session() as s:
        # Only what differs: edit_line audits every call, even one that changes nothing.
        changes = line_changes(s, line, _given(
            description=description, unit_price=price, quantity=qty, tax_rate=tax,
            filters=_json_object(filters, "--filters")))
        if changes:
            edit_line(s, line, changes)
    _changed(s, f"Line {line}")


@recurring_app.command("remove-line")
def recurring_remove_line(line: int = ID) -> None:
    """Stop billing a template line (earlier invoices keep it)."""
    from hub.billing.schedule_edits import retire_line

    with _session() as s:
        retire_line(s, line)
    _retired(s, f"Line {line}")


@recurring_app.command("group-edit")
def recurring_group_edit(group: int = ID, description: Optional[str] = None) -> None:
    """Change an invoice group's description."""
    from hub.billing.schedule_edits import edit_group

    with _session() as s:
        edit_group(s, group, _given(description=description))
    _changed(s, f"Invoice group {group}")


@contract_app.command("edit")
def contract_edit(contract: int = ID, name: Optional[str] = None,
                  auto_charge: Optional[bool] = typer.Option(None,
                                                             "--auto-charge/--no-auto-charge"),
                  auto_sync: Optional[bool] = typer.Option(None, "--auto-sync/--no-auto-sync"),
                  auto_send: Optional[bool] = typer.Option(None, "--auto-send/--no-auto-send"),
                  refund_policy: Optional[str] = None) -> None:
    """Change a billing contract."""
    from hub.billing.schedule_edits import edit_contract

    with _session() as s:
        edit_contract(s, contract, _given(name=name, auto_charge=auto_charge,
                                          auto_sync=auto_sync, auto_send=auto_send,
                                          refund_policy=refund_policy))
    _changed(s, f"Billing contract {contract}")


@contract_app.command("end")
def contract_end(contract: int = ID) -> None:
    """No further cycle is invoiced; invoiced cycles stay."""
    from hub.billing.schedule_edits import end_contract

    with _session() as s:
        end_contract(s, contract)
    console.print(f"Billing contract {contract} ended.")


def register(app: typer.Typer) -> None:
    """Add ``asset``, ``contact`` and ``product`` (the rest joins existing groups)."""
    app.add_typer(asset_app, name="asset")
    app.add_typer(contact_app, name="contact")
    app.add_typer(product_app, name="product")
