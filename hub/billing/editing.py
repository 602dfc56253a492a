"""Changing and retiring what is billed: organisations, contacts, assets and products.

Every change is parsed through :mod:`hub.validation.records` first (the CLI and the API pass
what they were given as it is), so a refusal stores nothing. Retiring keeps history: a retired
organisation is no longer billed, a retired device or contact is no longer counted, a retired
product can no longer be put on a new line, and the invoices that named them stay as they were.
Money already in an organisation's documents pins its currency: changing it would mix two
currencies in one account. Every change and retirement is written to the audit trail (who, what
from and to), in the same transaction; an edit whose values all equal the stored ones changes
nothing and writes nothing (:mod:`hub.validation.changes`).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select, update
from sqlmodel import Session

from hub import audit
from hub.billing.catalogue import check_name_free, get_or_404
from hub.core.money import shown_figure
from hub.db.models import (
    Asset, Contact, FutureItem, Invoice, Organisation, OrganisationMapping, Product,
    RecurringLine,
)
from hub.db.models.ledger import CreditNote, Payment, PaymentStatus, Transaction, WipEntry
from hub.errors import EditNotAllowed, ValidationFailed
from hub.validation import parse
from hub.validation.changes import differing, note_edit
from hub.validation.records import (
    AssetChanges, ContactChanges, MappingChanges, OrganisationChanges, ProductChanges,
)

__all__ = ["edit_organisation", "retire_organisation", "reactivate_organisation", "edit_contact", "retire_contact",
           "edit_asset", "retire_asset", "edit_product", "retire_product", "map_organisation",
           "apply_changes", "audit_change"]

_ORG_HINT = "list organisations with `hub org list`"


def audit_change(session: Session, kind: str, row_id: Any, action: str,
                 changed: dict[str, tuple[Any, Any]] | None = None, *,
                 currency: str | None = None) -> None:
    """Write ``<kind>.<action>`` on ``kind`` ``row_id`` to the audit trail; ``changed`` maps
    each field to its ``(before, after)``; amounts are shown in ``currency``'s minor unit when
    the row has one (a product's, a future item's)."""
    changed = {k: v for k, v in (changed or {}).items() if v[0] != v[1]}
    summary = (f"{kind.replace('_', ' ')} {row_id} {action}" + (": " + ", ".join(
        f"{key} {_shown(before, currency)} → {_shown(after, currency)}"
        for key, (before, after) in changed.items()) if changed else ""))
    audit.record(session, f"{kind}.{action}", kind, row_id, summary=summary,
                 detail={key: {"from": before, "to": after}
                         for key, (before, after) in changed.items()})


def _shown(value: Any, currency: str | None = None) -> Any:
    """A value as a summary shows it: a decimal in ``currency``'s minor unit when it needs no
    more (``500 → 600`` yen), or without a currency with two places (the stored ``30.0000`` and
    the typed ``35`` both read as money does, ``30.00 → 35.00``), else with the places it
    uses; anything else as it is."""
    if not isinstance(value, Decimal) or not value.is_finite():
        return value
    if currency:
        return shown_figure(value, currency)
    try:
        cents = value.quantize(_CENTS)
    except InvalidOperation:  # more digits than the context holds: no stored value has them
        return format(value, "f")
    return cents if cents == value else format(value.normalize(), "f")


_CENTS = Decimal("0.01")


def apply_changes(session: Session, row: Any, changes: dict[str, Any], kind: str, *,
                  row_id: Any = None, currency: str | None = None) -> Any:
    """Set the ``changes`` that differ from ``row``'s values and write the edit to the audit
    trail (as ``kind`` ``row_id``, by default the row's id; amounts in ``currency``, by default
    the row's). When every value equals the stored one nothing is set or written, and the
    session notes it (:func:`hub.validation.changes.nothing_changed`)."""
    changed = differing(row, changes)
    note_edit(session, bool(changed))
    if not changed:
        return row
    before = {key: getattr(row, key) for key in changed}
    for key, value in changed.items():
        setattr(row, key, value)
    audit_change(session, kind, row.id if row_id is None else row_id, "edited",
                 {key: (before[key], value) for key, value in changed.items()},
                 currency=currency or getattr(row, "currency", None))
    return row


def _retired(session: Session, row: Any, kind: str, action: str = "retired") -> Any:
    audit_change(session, kind, getattr(row, "code", None) or row.id, action)
    note_edit(session, True)
    return row


def _already(session: Session, row: Any) -> Any:
    """A retirement already made: nothing written, no second audit event; callers read
    :func:`hub.validation.changes.nothing_changed` to say "already retired"."""
    note_edit(session, False)
    return row


def _money_in_currency(session: Session, organisation_id: int) -> list[str]:
    """What holds money of the organisation in its currency: invoices, waiting future items,
    payments, refunds, credit notes, work in progress and account transactions (its credit
    and debits); empty when nothing does."""
    def has(model: Any, *where: Any) -> bool:
        return session.execute(select(model.id).where(
            model.organisation_id == organisation_id, *where).limit(1)).first() is not None

    # A payment (or refund) that failed moved no money; every other state did or will.
    paid = Payment.status != PaymentStatus.failed
    held = {
        "invoices": has(Invoice, Invoice.status != "deleted"),
        "future items": has(FutureItem, FutureItem.used.is_(False)),
        "payments": has(Payment, paid, Payment.amount >= 0),
        "refunds": has(Payment, paid, Payment.amount < 0),
        "credit notes": has(CreditNote),
        "work in progress": has(WipEntry),
        # A manual credit or debit has no document of its own to name.
        "account transactions": has(Transaction, Transaction.category == "manual"),
    }
    names = [name for name, found in held.items() if found]
    # The other transactions belong to the documents above; one left without its document
    # (whatever removed it) still holds money in the currency, and is named as what it is.
    return names or (["account transactions"] if has(Transaction) else [])


def _listed(names: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``: what a refusal names."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def edit_organisation(session: Session, organisation_id: int, values: dict[str, Any]
                      ) -> Organisation:
    """Change an organisation's name, currency, e-mail, billing day, due days or flags."""
    changes = parse(OrganisationChanges, values, what=f"organisation {organisation_id}").given()
    org = get_or_404(session, Organisation, organisation_id, "organisation", _ORG_HINT)
    if changes.get("name", org.name) != org.name:  # a name kept as it is stays allowed
        check_name_free(session, changes["name"], org.id)
    currency = changes.get("currency")
    held = _money_in_currency(session, org.id) if currency and currency != org.currency else []
    if held:
        # Amounts are stored without their currency's name being checked again: changed,
        # 100 JPY of credit would read as 100 KWD.
        raise EditNotAllowed(
            f"organisation {org.id} already has {_listed(held)} in {org.currency}",
            hint="its currency cannot change; create a new organisation for the new currency")
    return apply_changes(session, org, changes, "organisation")


def retire_organisation(session: Session, organisation_id: int) -> Organisation:
    """Stop billing an organisation (its recurring invoices and contracts are no longer run);
    its invoices, payments and statements stay."""
    org = get_or_404(session, Organisation, organisation_id, "organisation", _ORG_HINT)
    if not org.active:
        return _already(session, org)
    org.active = False
    return _retired(session, org, "organisation")


def reactivate_organisation(session: Session, organisation_id: int) -> Organisation:
    """Bill a retired organisation again (retired by mistake, or a customer come back): its
    schedules and contracts run again from where they stopped, catching up what fell due."""
    org = get_or_404(session, Organisation, organisation_id, "organisation", _ORG_HINT)
    if org.active:
        raise EditNotAllowed(f"organisation {org.id} ({org.name}) is not retired",
                             hint="nothing to do: it is billed as it is")
    org.active = True
    return _retired(session, org, "organisation", "reactivated")


def edit_contact(session: Session, contact_id: int, values: dict[str, Any]) -> Contact:
    """Change a contact's name, e-mail or attributes (attributes feed user counters)."""
    changes = parse(ContactChanges, values, what=f"contact {contact_id}").given()
    contact = get_or_404(session, Contact, contact_id, "contact",
                         "list contacts with `hub contact list`")
    return apply_changes(session, contact, changes, "contact")


def retire_contact(session: Session, contact_id: int, now: dt.datetime) -> Contact:
    """The person left: no longer counted from ``now`` (the row stays for old invoices)."""
    contact = get_or_404(session, Contact, contact_id, "contact",
                         "list contacts with `hub contact list`")
    if contact.deleted_at_source is not None:
        return _already(session, contact)
    contact.deleted_at_source = now
    return _retired(session, contact, "contact")


def edit_asset(session: Session, asset_id: int, values: dict[str, Any]) -> Asset:
    """Change a device's name, type, policy or status."""
    changes = parse(AssetChanges, values, what=f"asset {asset_id}").given()
    asset = get_or_404(session, Asset, asset_id, "asset", "list assets with `hub asset list`")
    return apply_changes(session, asset, changes, "asset")


def retire_asset(session: Session, asset_id: int, now: dt.datetime) -> Asset:
    """The device is gone: status ``retired`` and no longer counted from ``now``; invoices
    that counted it keep it in their provenance."""
    asset = get_or_404(session, Asset, asset_id, "asset", "list assets with `hub asset list`")
    if asset.status == "retired" and asset.deleted_at_source is not None:
        return _already(session, asset)
    asset.status = "retired"
    asset.deleted_at_source = asset.deleted_at_source or now
    return _retired(session, asset, "asset")


def edit_product(session: Session, code: str, values: dict[str, Any], *,
                 update_lines: bool = False) -> tuple[Product, int]:
    """Change a product; returns it and how many recurring/contract lines took the new price.
    With ``update_lines`` the active lines made from it at its old price follow a new price
    (lines priced by hand stay as they are)."""
    from hub.billing.catalogue import product_by_code

    changes = parse(ProductChanges, values, what=f"product {code}").given()
    product = product_by_code(session, code)
    old_price, old_tax = product.unit_price, product.tax_rate
    apply_changes(session, product, changes, "product")
    moved = 0
    if update_lines and (product.unit_price != old_price or product.tax_rate != old_tax):
        lt = RecurringLine.__table__
        moved = session.execute(update(lt).where(
            lt.c.product_id == product.id, lt.c.active, lt.c.unit_price == old_price,
            lt.c.tax_rate == old_tax).values(unit_price=product.unit_price,
                                             tax_rate=product.tax_rate)).rowcount
    return product, moved


def retire_product(session: Session, code: str) -> Product:
    """No new line can use the product; lines and invoices that use it stay."""
    from hub.billing.catalogue import product_by_code

    product = product_by_code(session, code)
    if not product.active:
        return _already(session, product)
    product.active = False
    return _retired(session, product, "product")


def map_organisation(session: Session, mapping_id: int, values: dict[str, Any]
                     ) -> OrganisationMapping:
    """Point a connector's company at another organisation, or unmap it (``None``)."""
    changes = parse(MappingChanges, values, what=f"mapping {mapping_id}").given()
    mapping = get_or_404(session, OrganisationMapping, mapping_id, "organisation mapping",
                         "list mappings with `hub org mappings`")
    target = changes.get("organisation_id")
    if target is not None:
        get_or_404(session, Organisation, target, "organisation", _ORG_HINT)
    if "organisation_id" not in changes:
        raise ValidationFailed("nothing to change", hint="give --org ID or --unmap")
    note_edit(session, target != mapping.organisation_id)
    if target == mapping.organisation_id:
        return mapping
    audit_change(session, "organisation_mapping", mapping.id, "edited",
                 {"organisation_id": (mapping.organisation_id, target)})
    mapping.organisation_id = target
    return mapping
