"""The pluggy entry point: every hook this plugin implements, thin and delegating."""

from __future__ import annotations

import datetime as dt
from typing import Sequence

from hub import (
    Connection, ConnectionType, CreditNoteDoc, DocumentRef, InvoiceDoc, PaymentDoc, hookimpl,
    owns,
)

from hub_accounting_quickbooks.settings import QuickBooksSettings

PLUGIN = "quickbooks"


def _client(connection: Connection):
    """A QuickBooks client for ``connection``; imported on first use, so that loading the
    plugin (every `hub` command does) does not import httpx."""
    from hub_accounting_quickbooks.client import QuickBooksClient

    return QuickBooksClient(connection)


@hookimpl
def hub_register_connection_types(register):
    """Declare the ``quickbooks`` connection type (accounting; payments made in QuickBooks are
    polled for on the schedule, the catch-up for a missed webhook)."""
    register(ConnectionType(name=PLUGIN, settings_model=QuickBooksSettings,
                            capabilities=frozenset({"accounting", "payments_poll"}),
                            description="QuickBooks Online accounting: push invoices, credit "
                                        "memos, payments"))


@hookimpl
def hub_push_invoices(connection: Connection, invoices: Sequence[InvoiceDoc]):
    """Create invoices in QuickBooks through the batch endpoint; never twice."""
    if not owns(connection, PLUGIN):
        return None
    from hub_accounting_quickbooks.push import INVOICES, push_documents

    with _client(connection) as client:
        return push_documents(client, INVOICES, invoices)


@hookimpl
def hub_push_credit_notes(connection: Connection, credit_notes: Sequence[CreditNoteDoc]):
    """Create credit memos in QuickBooks and apply them to their invoices."""
    if not owns(connection, PLUGIN):
        return None
    from hub_accounting_quickbooks.credits import push_credit_notes

    with _client(connection) as client:
        return push_credit_notes(client, credit_notes)


@hookimpl
def hub_push_payments(connection: Connection, payments: Sequence[PaymentDoc]):
    """Record payments in QuickBooks; a reversal deletes the payment it reverses."""
    if not owns(connection, PLUGIN):
        return None
    from hub_accounting_quickbooks.payments import push_payments

    with _client(connection) as client:
        return push_payments(client, payments)


@hookimpl
def hub_void_invoice(connection: Connection, invoice: DocumentRef):
    """Void a pushed invoice when QuickBooks allows it."""
    if not owns(connection, PLUGIN):
        return None
    from hub_accounting_quickbooks.void import void_invoice

    with _client(connection) as client:
        return void_invoice(client, invoice)


@hookimpl
def hub_fetch_external_documents(connection: Connection, kind: str, since: dt.date | None,
                                 until: dt.date | None):
    """Invoices, credit memos or payments as they stand in QuickBooks."""
    if not owns(connection, PLUGIN):
        return None
    from hub_accounting_quickbooks.pull import fetch_documents

    with _client(connection) as client:
        return fetch_documents(client, kind, since, until)


@hookimpl
def hub_receive_payment(connection: Connection, request):
    """QuickBooks webhooks: payments recorded and invoices voided directly in QuickBooks."""
    if not owns(connection, PLUGIN):
        return None
    from hub_accounting_quickbooks.webhooks import receive

    return receive(connection, request)


@hookimpl
def hub_poll_payments(connection: Connection, since: dt.datetime):
    """Payments and voids made in QuickBooks since ``since`` (Change Data Capture): the
    scheduled catch-up for a missed webhook, as the same events a webhook brings."""
    if not owns(connection, PLUGIN):
        return None
    from hub_accounting_quickbooks.webhooks import poll

    return poll(connection, since)


@hookimpl
def hub_register_commands(app):
    """``hub connect quickbooks NAME`` and ``hub quickbooks catch-up NAME``."""
    from hub_accounting_quickbooks.cli import register

    register(app)


@hookimpl
def hub_register_routes(router):
    """The OAuth callback under /plugins/quickbooks/."""
    from hub_accounting_quickbooks.web import register

    register(router)
