"""The plugin contract: the only thing plugins implement.

Every hook is prefixed ``hub_``. Its calling semantics are chosen on purpose and stated in its
docstring:

- **collect** — every plugin answers, the host combines the list (counters, registrations);
- **first result** — exactly one plugin owns the answer (the one whose connection it is) and the
  call stops at the first non-``None`` result (pushes, charges, webhooks, pulls);
- **broadcast** — the host tells every plugin something happened; return values are ignored.

Hooks that act for a connection receive a :class:`hub.contract.connections.Connection`. A plugin must
return ``None`` at once when ``connection.plugin`` is not its own name, so the call falls through
to the owner; :func:`hub.contract.connections.owns` is the one-line way to check.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

import pluggy

if TYPE_CHECKING:  # imported for annotations only: plugins never need these at runtime
    import fastapi
    import typer

    from hub.contract.connections import Connection, ConnectionType
    from hub.contract.records import (
        ChargeOutcome, ChargeRequest, Counted, CountQuery, CreditNoteDoc, DocumentRef,
        ExternalDocument, InvoiceDoc, PaymentDoc, PaymentEvent, PullPage, PushOutcome,
        RefundOutcome, RefundRequest, WebhookRequest,
    )

PROJECT = "hub"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# ----------------------------------------------------------------------------- registration
@hookspec
def hub_register_connection_types(register: Callable[["ConnectionType"], None]) -> None:
    """Declare the connection types this plugin provides. **collect**.

    Call ``register(ConnectionType(...))`` once per type (e.g. ``xero``). The host refuses two
    plugins registering the same type name and remembers which plugin registered which, so a
    ``[[connections]]`` entry with ``plugin = "xero"`` is validated by that type's settings model.
    Returns nothing.
    """


@hookspec
def hub_register_commands(app: "typer.Typer") -> None:
    """Add CLI commands or sub-apps to the ``hub`` command. **collect**; returns nothing."""


@hookspec
def hub_register_routes(router: "fastapi.APIRouter") -> None:
    """Add web routes (e.g. an OAuth callback) under ``/plugins/``. **collect**; returns
    nothing. Webhooks do not need this: they arrive through ``hub_receive_payment``."""


# ----------------------------------------------------------------------------- pulling facts
@hookspec(firstresult=True)
def hub_pull_organisations(connection: "Connection", since: dt.datetime | None,
                           cursor: str | None) -> "PullPage | None":
    """One page of organisations from ``connection``'s source. **first result**.

    ``since`` asks for changes after that time (``None`` for everything); ``cursor`` is the
    previous page's cursor. Returns ``None`` when the connection is not this plugin's.
    """


@hookspec(firstresult=True)
def hub_pull_contacts(connection: "Connection", since: dt.datetime | None,
                      cursor: str | None) -> "PullPage | None":
    """One page of contacts (people) from the source. **first result**; as above."""


@hookspec(firstresult=True)
def hub_pull_assets(connection: "Connection", since: dt.datetime | None,
                    cursor: str | None) -> "PullPage | None":
    """One page of managed devices from the source. **first result**; as above."""


@hookspec(firstresult=True)
def hub_pull_tickets(connection: "Connection", since: dt.datetime | None,
                     cursor: str | None) -> "PullPage | None":
    """One page of tickets with their time entries. **first result**; as above.

    Billable time entries become ticket charges (status *Not Charged*) in the hub.
    """


@hookspec(firstresult=True)
def hub_pull_usage(connection: "Connection", period_start: dt.date, period_end: dt.date,
                   cursor: str | None) -> "PullPage | None":
    """One page of vendor licence/usage records (``UsageRecord``) for a period.
    **first result**; ``None`` when not this plugin's connection."""


# ----------------------------------------------------------------------------- counters
@hookspec
def hub_count_assets(connection: "Connection", query: "CountQuery") -> "Counted | None":
    """Count the managed devices matching ``query`` that ``connection`` knows. **collect**:
    every source's answer is summed; each ``CountedItem`` is line provenance. ``None`` when the
    connection is not this plugin's or knows nothing of the organisation."""


@hookspec
def hub_count_licensed_users(connection: "Connection", query: "CountQuery") -> "Counted | None":
    """Count the people/licences matching ``query`` (e.g. contacts with remote access).
    **collect**, as :func:`hub_count_assets`."""


@hookspec
def hub_fetch_vendor_usage(connection: "Connection", query: "CountQuery") -> "Counted | None":
    """Vendor usage for ``query`` (``filters["sku"]``) over the query's period. **collect**,
    as :func:`hub_count_assets`; each item is a subscription or usage line."""


@hookspec
def hub_count_many(connection: "Connection",
                   queries: Sequence["CountQuery"]) -> "Sequence[Counted | None] | None":
    """Answer many counter queries at once (any mix of ``kind``), e.g. with one query per
    table for a whole chunk of a billing run instead of one per counter line. **collect**.

    Optional: a plugin that implements it is asked only through it by billing runs, never also
    through :func:`hub_count_assets`, :func:`hub_count_licensed_users` or
    :func:`hub_fetch_vendor_usage` (so nothing is counted twice). Return one answer per query,
    in order, each as the per-query hook would answer it (``None`` where it knows nothing of
    that organisation); or ``None`` when the connection is not this plugin's."""


# ----------------------------------------------------------------------------- pushing out
@hookspec(firstresult=True)
def hub_push_invoices(connection: "Connection",
                      invoices: Sequence["InvoiceDoc"]) -> "list[PushOutcome] | None":
    """Create these invoices at the accounting system. **first result**.

    The host sends batches (the plugin may split further); the plugin returns one
    :class:`PushOutcome` per invoice, in any order. It must never create a duplicate: when the
    outcome of an earlier attempt is unknown it looks the document up first.
    """


@hookspec(firstresult=True)
def hub_push_credit_notes(connection: "Connection",
                          credit_notes: Sequence["CreditNoteDoc"]) -> "list[PushOutcome] | None":
    """Create credit notes (with their allocations) at the accounting system. **first result**;
    one outcome per credit note, as :func:`hub_push_invoices`."""


@hookspec(firstresult=True)
def hub_push_payments(connection: "Connection",
                      payments: Sequence["PaymentDoc"]) -> "list[PushOutcome] | None":
    """Record payments (and reversals: ``reversal_of`` set) at the accounting system.
    **first result**; one outcome per payment."""


@hookspec(firstresult=True)
def hub_void_invoice(connection: "Connection", invoice: "DocumentRef") -> "PushOutcome | None":
    """Void a pushed invoice at the accounting system if it allows that. **first result**.
    Returns ``rejected`` with the reason (e.g. it has payments) so the host asks for a credit
    note instead."""


@hookspec
def hub_lock_synced_documents(connection: "Connection",
                              documents: Sequence["DocumentRef"]) -> None:
    """These documents are now synced to ``connection`` and locked in the hub. **broadcast**;
    return values are ignored."""


@hookspec(firstresult=True)
def hub_fetch_external_documents(connection: "Connection", kind: str, since: dt.date | None,
                                 until: dt.date | None) -> "Iterable[ExternalDocument] | None":
    """Documents of ``kind`` as they stand at the external system, for reconciliation and for
    bringing back what was recorded there directly. **first result**; read-only."""


# ----------------------------------------------------------------------------- payments
@hookspec(firstresult=True)
def hub_receive_payment(connection: "Connection",
                        request: "WebhookRequest") -> "list[PaymentEvent] | None":
    """Check a webhook's signature and turn it into normalised events. **first result**.

    Raise :class:`hub.errors.WebhookRejected` for a bad signature or body (the host answers 4xx
    and stores nothing). Return ``None`` when the connection is not this plugin's.
    """


@hookspec(firstresult=True)
def hub_poll_payments(connection: "Connection",
                      since: dt.datetime) -> "list[PaymentEvent] | None":
    """Payment events for what changed at the source since ``since`` — the catch-up for a
    missed webhook, called on a schedule for connection types with the ``payments_poll``
    capability. **first result**.

    Return the same events (same ``event_id``) a webhook would have brought, so the host
    stores each once whichever way it came; ``None`` when the connection is not this plugin's.
    """


@hookspec(firstresult=True)
def hub_charge_payment_method(connection: "Connection",
                              charge: "ChargeRequest") -> "ChargeOutcome | None":
    """Charge a stored payment method, using ``charge.idempotency_key``. **first result**."""


@hookspec(firstresult=True)
def hub_refund_payment(connection: "Connection",
                       refund: "RefundRequest") -> "RefundOutcome | None":
    """Refund (part of) a processor payment. **first result**."""


# ----------------------------------------------------------------------------- events
@hookspec
def hub_invoice_overdue(invoice_id: int, organisation_id: int, due_date: dt.date,
                        days_overdue: int) -> None:
    """An invoice has passed its due date unpaid. **broadcast**; plugins may act (block a
    service, open a ticket). Return values are ignored."""


@hookspec
def hub_account_state_changed(organisation_id: int, previous: str, state: str,
                              effective_on: dt.date, reason: str) -> None:
    """A customer's account changed state by its calendar (seed 002): ``state`` is
    ``"blocked"`` (the block date came with the balance below the minimum), ``"deactivated"``
    (the deactivation date came) or ``"active"`` (a payment brought the balance back to the
    minimum). **broadcast**, once per recorded change, after it is committed; a PSA or RMM
    plugin suspends or restores the customer's service. Return values are ignored."""
