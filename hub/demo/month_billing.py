"""The demo month's billing steps: products, recurring invoices, the group and the contract,
stored cards, time charges, the pre-bill, previews and confirmations, and the figures of a batch.

:class:`BillingSteps` is a part of the demo month (:mod:`hub.demo.month`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from sqlmodel import Session, select

from hub.demo import sample as S

__all__ = ["BillingSteps", "MonthFigures"]

_COUNTERS = ("asset_counter", "user_counter", "vendor_usage")


@dataclass
class MonthFigures:
    """What one month's billing run produced."""

    label: str
    run_date: dt.date
    batch_id: int
    invoices: int
    total: Decimal
    #: (organisation, line, quantity, change, line type) of every line that changed
    changes: list[tuple[str, str, str, str, str]] = field(default_factory=list)


class BillingSteps:
    """Billing set-up and runs of the demo month."""

    def _setup_billing(self) -> None:
        from hub.billing.catalogue import add_product
        from hub.billing.contracts import create_contract
        from hub.billing.recurring import (
            add_recurring_line, create_group, create_recurring, set_master,
        )
        from hub.db.engine import session_scope

        P, ids = S.PRICES, self.result.organisation_ids
        with session_scope(self.ctx.engine) as session:
            add_product(session, "DEVICE", "Managed device", P["device"])
            add_product(session, "USER", "Per-user support", P["user"])
            add_product(session, "REMOTE", "Remote access user", P["remote_user"])
            add_product(session, "M365-BP", "Microsoft 365 Business Premium", P["m365"])
            add_product(session, "DEF-EP", "Microsoft Defender for Endpoint P1", P["defender"])
            add_product(session, "HELPDESK", "Helpdesk (flat)", P["helpdesk"])
            add_product(session, "BACKUP", "Cloud backup (flat)", P["backup"])
            for org in self.sample.organisations:
                hub_id = ids[org.number]
                if org.number == S.CONTRACT_ORG:
                    contract = create_contract(session, hub_id, "Managed services contract",
                                               self.opening, cycles=12,
                                               auto_charge=org.card is not None, auto_sync=True)
                    add_recurring_line(session, contract_id=contract.id, line_type="standard",
                                       description="Managed services (contract fee)",
                                       unit_price=P["contract_fee"])
                    add_recurring_line(session, contract_id=contract.id,
                                       line_type="asset_counter", product_code="DEVICE",
                                       filters={})
                    add_recurring_line(session, contract_id=contract.id,
                                       line_type="vendor_usage", product_code="M365-BP",
                                       filters={"sku": "M365-BP"})
                    continue
                group_id = None
                if org.number == S.GROUP_ORG:
                    group_id = create_group(session, hub_id, "Monthly services", self.opening).id
                schedule = create_recurring(
                    session, hub_id, self.opening, name="Managed services", first_run="start",
                    auto_bill=org.card is not None, group_id=group_id,
                    add_pending_ticket_charges=org.number != S.NO_TICKET_CHARGES_ORG)
                filters = ({"asset_type": ["workstation"]}
                           if org.number == S.WORKSTATIONS_ONLY_ORG else {})
                add_recurring_line(session, recurring_id=schedule.id, line_type="asset_counter",
                                   product_code="DEVICE", filters=filters)
                add_recurring_line(session, recurring_id=schedule.id, line_type="user_counter",
                                   product_code="USER", filters={})
                add_recurring_line(session, recurring_id=schedule.id, line_type="user_counter",
                                   product_code="REMOTE",
                                   filters={"attributes.remote_access": True})
                add_recurring_line(session, recurring_id=schedule.id, line_type="vendor_usage",
                                   product_code="M365-BP", filters={"sku": "M365-BP"})
                add_recurring_line(session, recurring_id=schedule.id, line_type="standard",
                                   product_code="HELPDESK")
                if group_id is not None:
                    backup = create_recurring(session, hub_id, self.opening, name="Backup",
                                              first_run="start", auto_bill=org.card is not None,
                                              group_id=group_id)
                    add_recurring_line(session, recurring_id=backup.id, line_type="standard",
                                       product_code="BACKUP")
                    set_master(session, group_id, schedule.id)
        self._store_cards()

    def _store_cards(self) -> None:
        from hub.db.engine import session_scope
        from hub.ledger.payment_profiles import CardDetails, attach_profile
        from hub_payments_stripe import profiles

        connection = self.ctx.connection("stripe")
        stored = 0
        for org in self.sample.organisations:
            if org.card is None:
                continue
            hub_id = self.result.organisation_ids[org.number]
            customer = profiles.ensure_customer(connection, hub_id, name=org.name)
            card = profiles.attach_payment_method(connection, customer, org.card)
            with session_scope(self.ctx.engine) as session:
                attach_profile(session, organisation_id=hub_id, connection="stripe",
                               customer_ref=customer, payment_method_ref=card.payment_method_ref,
                               card=CardDetails(card.brand, card.last4, card.exp_month,
                                                card.exp_year), auto_bill=True)
            stored += 1
        others = len(self.sample.organisations) - stored
        self.steps.note(f"{stored} stored cards with auto-bill (one of them declines); "
                        f"{others} organisation{'s' if others != 1 else ''} pay by bank transfer")

    def _charge_time(self) -> None:
        from hub.billing.catalogue import charge_labor
        from hub.db.engine import session_scope
        from hub.db.models import LaborStatus, TicketCharge

        with session_scope(self.ctx.engine) as session:
            pending = session.exec(select(TicketCharge).where(
                TicketCharge.labor_status == LaborStatus.not_charged)).all()
            for charge in pending:
                charge_labor(session, charge.id)
        self.steps.note(f"{len(pending)} billable time entries charged")

    def _prebill(self) -> None:
        from hub.ledger._base import ledger_session
        from hub.ledger.prebills import add_wip, attach_wip, create_prebill

        spec = S.PREBILL
        hub_id = self.result.organisation_ids[S.PREBILL_ORG]
        with ledger_session(self.ctx) as session:
            prebill = create_prebill(session, hub_id, project=spec["project"],
                                     stage=spec["stage"], stage_fee=spec["stage_fee"],
                                     percent=spec["percent"], issue_date=self.billing)
            for value in spec["wip"]:
                add_wip(session, hub_id, project=spec["project"], stage=spec["stage"],
                        date=self.billing, value=value, description="cabling work")
            attach_wip(session, prebill.id, "all", "exact", when=self.ctx.clock())
            self.result.prebill_total = prebill.amount
        self.steps.note(f"pre-bill {spec['project']} / {spec['stage']}: "
                        f"{prebill.amount:.2f} invoiced, WIP "
                        f"{sum(spec['wip']):.2f} attached")

    def _bill(self, label: str, run_date: dt.date) -> None:
        from hub.billing import confirm, preview

        with self.steps.step(f"Billing preview for the {label}"):
            batch = preview(self.ctx, run_date)
            figures = self._batch_figures(label, run_date, batch.batch_id)
        self.steps.note(f"{figures.invoices} draft invoices, {figures.total:,.2f} USD")
        if figures.changes:
            self._show_changes(figures)
        with self.steps.step(f"Confirming the {label}"):
            confirm(self.ctx, batch.batch_id)
            held = self._hold_charges()
        with self.steps.step(f"Pushing the invoices to {self.books_label}"):
            self._drain()
        with self.steps.step(f"Auto-charging {len(held)} invoices through Stripe; webhooks back "
                             f"into the hub; payments pushed to {self.books_label}"):
            self._release(held)
            self._drain()
        self.result.months.append(figures)

    def _batch_figures(self, label: str, run_date: dt.date, batch_id: int) -> MonthFigures:
        from hub.db.models import Invoice, InvoiceLine, Organisation

        with Session(self.ctx.engine) as session:
            invoices = session.exec(select(Invoice).where(Invoice.batch_id == batch_id)).all()
            figures = MonthFigures(label, run_date, batch_id, len(invoices),
                                   sum((i.total for i in invoices), Decimal("0")))
            names = {o.id: o.name for o in session.exec(select(Organisation))}
            rows = session.exec(select(InvoiceLine, Invoice.organisation_id)
                                .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
                                .where(Invoice.batch_id == batch_id,
                                       InvoiceLine.change.is_not(None),
                                       InvoiceLine.change != "")
                                .order_by(Invoice.id, InvoiceLine.position)).all()
            # Counter lines first (devices, people, licences): the changes a biller checks.
            rows = sorted(rows, key=lambda r: _COUNTERS.index(r[0].line_type)
                          if r[0].line_type in _COUNTERS else len(_COUNTERS))
            figures.changes = [(names.get(org_id, str(org_id)), line.description,
                                f"{line.quantity.normalize():f}", line.change, line.line_type)
                               for line, org_id in rows if line.change != "first invoice"]
        return figures

    def _show_changes(self, figures: MonthFigures) -> None:
        from rich.table import Table

        # A few of each kind of line: devices, people, licences, time.
        shown, per_kind = [], {}
        for row in figures.changes:
            per_kind[row[4]] = per_kind.get(row[4], 0) + 1
            if per_kind[row[4]] <= 3:
                shown.append(row)
        table = Table(title=f"What changed since last month ({len(figures.changes)} lines; "
                            f"{len(shown)} of them)", title_justify="left")
        for column in ("organisation", "line", "quantity", "change"):
            table.add_column(column)
        for row in shown:
            table.add_row(*row[:4])
        self.steps.console.print(table)

    def _hold_charges(self) -> list[int]:
        """Let the invoices reach Xero before their cards are charged: a payment pushed before
        its invoice is at Xero waits a minute for it (the Xero plugin's rule), which a watching
        newcomer should not sit through. Returns the held charge rows."""
        from sqlalchemy import update

        from hub.db.engine import session_scope
        from hub.db.models import OutboxEntry
        from hub.db.models.sync import Effect, OutboxStatus

        later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
        with session_scope(self.ctx.engine) as session:
            ids = list(session.exec(select(OutboxEntry.id).where(
                OutboxEntry.effect == Effect.charge, OutboxEntry.status == OutboxStatus.pending,
                OutboxEntry.available_at <= dt.datetime.now(dt.timezone.utc))).all())
            if ids:
                session.execute(update(OutboxEntry).where(OutboxEntry.id.in_(ids))
                                .values(available_at=later))
        return ids

    def _release(self, ids: list[int]) -> None:
        """Make the held charge rows due now."""
        from sqlalchemy import update

        from hub.db.engine import session_scope
        from hub.db.models import OutboxEntry

        if ids:
            with session_scope(self.ctx.engine) as session:
                session.execute(update(OutboxEntry).where(OutboxEntry.id.in_(ids))
                                .values(available_at=dt.datetime.now(dt.timezone.utc)))
