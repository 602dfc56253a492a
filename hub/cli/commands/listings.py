"""List commands for what is billed, each with ``--limit/--offset``, ``--format table|json|csv``
and filters that refuse unknown values: ``hub org list|tickets|future-items|mappings``,
``hub contact list``, ``hub asset list``, ``hub product list``, ``hub recurring list|lines|
groups`` and ``hub contract list``."""

from __future__ import annotations

from enum import Enum
from typing import Optional

import typer

from hub.cli.commands.billing import contract_app
from hub.cli.commands.billing_setup import org_app, recurring_app
from hub.cli.commands.edits import asset_app, contact_app, product_app
from hub.cli.ids import id_argument, id_option
from hub.cli.listing import FORMAT, LIMIT, OFFSET, OutputFormat, emit, page
from hub.cli.state import context

__all__ = ["Standing"]

ORG = id_option("--org", help="only this organisation")


class Standing(str, Enum):
    """Live records, retired ones, or both."""

    active = "active"
    retired = "retired"
    all = "all"


class FutureItemState(str, Enum):
    """Where a future item stands."""

    waiting = "waiting"
    taken = "taken"
    used = "used"
    all = "all"


class ChargeState(str, Enum):
    """A ticket charge's labour status."""

    not_charged = "not_charged"
    charged = "charged"
    invoiced = "invoiced"
    all = "all"


def _rows(query, limit: int, offset: int) -> list[dict]:
    from hub.db.engine import session_scope

    with session_scope(context().engine) as s:
        return [dict(row._mapping) for row in s.execute(page(query, limit, offset))]


def _standing(query, column, standing: Standing, *, retired_when_true: bool = False):
    if standing is Standing.all:
        return query
    live = (standing is Standing.active) != retired_when_true
    return query.where(column.is_(True) if live else column.is_(False))


@org_app.command("list")
def org_list(status: Standing = typer.Option(Standing.active, case_sensitive=False),
             limit: int = LIMIT, offset: int = OFFSET, fmt: OutputFormat = FORMAT) -> None:
    """Organisations."""
    from sqlalchemy import select
    from hub.db.models import Organisation as O

    query = _standing(select(O.id, O.name, O.currency, O.email, O.billing_day,
                             O.payment_due_days, O.auto_bill, O.active).order_by(O.id),
                      O.active, status)
    emit(_rows(query, limit, offset), ["id", "name", "currency", "email", "billing_day",
                                       "payment_due_days", "auto_bill", "active"], fmt)


@org_app.command("tickets")
def org_tickets(org: Optional[int] = ORG,
                charges: ChargeState = typer.Option(ChargeState.all, case_sensitive=False,
                                                    help="only charges with this status"),
                limit: int = LIMIT, offset: int = OFFSET, fmt: OutputFormat = FORMAT) -> None:
    """Tickets with their charges and each charge's status."""
    from sqlalchemy import select
    from hub.db.models import Ticket as T, TicketCharge as C

    query = select(T.id.label("ticket"), T.number, T.organisation_id, T.status,
                   C.id.label("charge"), C.description, C.quantity, C.unit_price,
                   C.labor_status, C.invoice_line_id).join(C, C.ticket_id == T.id, isouter=True)
    if org is not None:
        query = query.where(T.organisation_id == org)
    if charges is not ChargeState.all:
        query = query.where(C.labor_status == charges.value)
    emit(_rows(query.order_by(T.id, C.id), limit, offset),
         ["ticket", "number", "organisation_id", "status", "charge", "description", "quantity",
          "unit_price", "labor_status", "invoice_line_id"], fmt)


@org_app.command("future-items")
def org_future_items(org: Optional[int] = ORG,
                     state: FutureItemState = typer.Option(FutureItemState.waiting,
                                                           case_sensitive=False),
                     limit: int = LIMIT, offset: int = OFFSET,
                     fmt: OutputFormat = FORMAT) -> None:
    """Future items: waiting for an invoice, taken by a draft, or used."""
    from sqlalchemy import select
    from hub.db.models import FutureItem as F

    query = select(F.id, F.organisation_id, F.description, F.amount, F.currency,
                   F.created_on, F.invoice_id, F.used).order_by(F.id)
    if org is not None:
        query = query.where(F.organisation_id == org)
    if state is FutureItemState.waiting:
        query = query.where(F.invoice_id.is_(None), F.used.is_(False))
    elif state is FutureItemState.taken:
        query = query.where(F.invoice_id.isnot(None), F.used.is_(False))
    elif state is FutureItemState.used:
        query = query.where(F.used.is_(True))
    emit(_rows(query, limit, offset), ["id", "organisation_id", "description", "amount",
                                       "currency", "created_on", "invoice_id", "used"], fmt)


@org_app.command("mappings")
def org_mappings(connection: Optional[str] = None, limit: int = LIMIT, offset: int = OFFSET,
                 fmt: OutputFormat = FORMAT) -> None:
    """Connector companies and the organisations they map to."""
    from sqlalchemy import select
    from hub.db.models import OrganisationMapping as M

    query = select(M.id, M.connection, M.external_id, M.external_name,
                   M.organisation_id).order_by(M.id)
    if connection is not None:
        query = query.where(M.connection == connection)
    emit(_rows(query, limit, offset), ["id", "connection", "external_id", "external_name",
                                       "organisation_id"], fmt)


@contact_app.command("list")
def contact_list(org: Optional[int] = ORG,
                 status: Standing = typer.Option(Standing.active, case_sensitive=False),
                 limit: int = LIMIT, offset: int = OFFSET, fmt: OutputFormat = FORMAT) -> None:
    """Contacts (retired ones have left)."""
    from sqlalchemy import select
    from hub.db.models import Contact as C

    query = select(C.id, C.organisation_id, C.name, C.email, C.source,
                   C.deleted_at_source.label("retired_at")).order_by(C.id)
    if org is not None:
        query = query.where(C.organisation_id == org)
    if status is not Standing.all:
        query = query.where(C.deleted_at_source.is_(None) if status is Standing.active
                            else C.deleted_at_source.isnot(None))
    emit(_rows(query, limit, offset), ["id", "organisation_id", "name", "email", "source",
                                       "retired_at"], fmt)


@asset_app.command("list")
def asset_list(org: Optional[int] = ORG,
               status: Standing = typer.Option(Standing.active, case_sensitive=False),
               limit: int = LIMIT, offset: int = OFFSET, fmt: OutputFormat = FORMAT) -> None:
    """Managed devices (retired ones are no longer counted)."""
    from sqlalchemy import select
    from hub.db.models import Asset as A

    query = select(A.id, A.organisation_id, A.name, A.asset_type, A.policy, A.status,
                   A.source, A.deleted_at_source.label("retired_at")).order_by(A.id)
    if org is not None:
        query = query.where(A.organisation_id == org)
    if status is not Standing.all:
        query = query.where(A.deleted_at_source.is_(None) if status is Standing.active
                            else A.deleted_at_source.isnot(None))
    emit(_rows(query, limit, offset), ["id", "organisation_id", "name", "asset_type", "policy",
                                       "status", "source", "retired_at"], fmt)


@product_app.command("list")
def product_list(status: Standing = typer.Option(Standing.active, case_sensitive=False),
                 limit: int = LIMIT, offset: int = OFFSET, fmt: OutputFormat = FORMAT) -> None:
    """Catalogue products."""
    from sqlalchemy import select
    from hub.db.models import Product as P

    query = _standing(select(P.id, P.code, P.name, P.kind, P.unit_price, P.tax_rate,
                             P.currency, P.active).order_by(P.code), P.active, status)
    emit(_rows(query, limit, offset), ["id", "code", "name", "kind", "unit_price", "tax_rate",
                                       "currency", "active"], fmt)


@recurring_app.command("list")
def recurring_list(org: Optional[int] = ORG,
                   status: Standing = typer.Option(Standing.active, case_sensitive=False),
                   limit: int = LIMIT, offset: int = OFFSET, fmt: OutputFormat = FORMAT) -> None:
    """Recurring invoices and when they run next."""
    from sqlalchemy import select
    from hub.db.models import RecurringInvoice as R

    query = _standing(select(R.id, R.organisation_id, R.name, R.frequency, R.interval,
                             R.billing_day, R.covered_from, R.next_run_date, R.end_date,
                             R.invoice_group_id, R.active).order_by(R.id), R.active, status)
    if org is not None:
        query = query.where(R.organisation_id == org)
    emit(_rows(query, limit, offset), ["id", "organisation_id", "name", "frequency", "interval",
                                       "billing_day", "covered_from", "next_run_date",
                                       "end_date", "invoice_group_id", "active"], fmt)


@recurring_app.command("lines")
def recurring_lines(recurring: Optional[int] = id_argument("recurring invoice id", default=None),
                    status: Standing = typer.Option(Standing.active, case_sensitive=False),
                    limit: int = LIMIT, offset: int = OFFSET,
                    fmt: OutputFormat = FORMAT) -> None:
    """Template lines (of one recurring invoice if given)."""
    from sqlalchemy import select
    from hub.db.models import RecurringLine as L

    query = _standing(select(L.id, L.recurring_invoice_id, L.contract_id, L.line_type,
                             L.description, L.quantity, L.unit_price, L.tax_rate,
                             L.counter_filters, L.active).order_by(L.id), L.active, status)
    if recurring is not None:
        query = query.where(L.recurring_invoice_id == recurring)
    emit(_rows(query, limit, offset), ["id", "recurring_invoice_id", "contract_id", "line_type",
                                       "description", "quantity", "unit_price", "tax_rate",
                                       "counter_filters", "active"], fmt)


@recurring_app.command("groups")
def recurring_groups(org: Optional[int] = ORG, limit: int = LIMIT, offset: int = OFFSET,
                     fmt: OutputFormat = FORMAT) -> None:
    """Invoice groups with their next date and master agreement."""
    from sqlalchemy import select
    from hub.db.models import InvoiceGroup as G

    query = select(G.id, G.organisation_id, G.description, G.frequency, G.align_day,
                   G.next_date, G.master_recurring_id).order_by(G.id)
    if org is not None:
        query = query.where(G.organisation_id == org)
    emit(_rows(query, limit, offset), ["id", "organisation_id", "description", "frequency",
                                       "align_day", "next_date", "master_recurring_id"], fmt)


@contract_app.command("list")
def contract_list(org: Optional[int] = ORG,
                  status: Standing = typer.Option(Standing.active, case_sensitive=False),
                  limit: int = LIMIT, offset: int = OFFSET, fmt: OutputFormat = FORMAT) -> None:
    """Billing contracts."""
    from sqlalchemy import select
    from hub.db.models import BillingContract as B

    query = _standing(select(B.id, B.organisation_id, B.name, B.frequency, B.start_date,
                             B.auto_charge, B.auto_sync, B.auto_send, B.active)
                      .order_by(B.id), B.active, status)
    if org is not None:
        query = query.where(B.organisation_id == org)
    emit(_rows(query, limit, offset), ["id", "organisation_id", "name", "frequency",
                                       "start_date", "auto_charge", "auto_sync", "auto_send",
                                       "active"], fmt)
