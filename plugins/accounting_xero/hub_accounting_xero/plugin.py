"""The pluggy entry point: every hook this plugin implements, thin and delegating."""

from __future__ import annotations

import datetime as dt
from typing import Sequence

from hub import (
    Connection, ConnectionType, CreditNoteDoc, DocumentRef, InvoiceDoc, PaymentDoc, hookimpl,
    owns,
)

from hub_accounting_xero.settings import XeroSettings

PLUGIN = "xero"


def _client(connection: Connection):
    """A :class:`hub_accounting_xero.client.XeroClient`, imported on first use: the host loads
    this module at every CLI start, and the client brings httpx with it."""
    from hub_accounting_xero.client import XeroClient

    return XeroClient(connection)


@hookimpl
def hub_register_connection_types(register):
    """Declare the ``xero`` connection type (accounting)."""
    register(ConnectionType(name=PLUGIN, settings_model=XeroSettings,
                            capabilities=frozenset({"accounting", "payments_poll"}),
                            description="Xero accounting: push invoices, credit notes, payments"))


@hookimpl
def hub_push_invoices(connection: Connection, invoices: Sequence[InvoiceDoc]):
    """Create invoices at Xero in batches of up to 50; never twice."""
    if not owns(connection, PLUGIN):
        return None
    from hub_accounting_xero.push import INVOICES, push_documents

    with _client(connection) as client:
        return push_documents(client, INVOICES, invoices)


@hookimpl
def hub_push_credit_notes(connection: Connection, credit_notes: Sequence[CreditNoteDoc]):
    """Create credit notes at Xero and apply them to their invoices."""
    if not owns(connection, PLUGIN):
        return None
    from hub_accounting_xero.credits import push_credit_notes

    with _client(connection) as client:
        return push_credit_notes(client, credit_notes)


@hookimpl
def hub_push_payments(connection: Connection, payments: Sequence[PaymentDoc]):
    """Record payments at Xero; a reversal deletes the Xero payment it reverses."""
    if not owns(connection, PLUGIN):
        return None
    from hub_accounting_xero.payments import push_payments

    with _client(connection) as client:
        return push_payments(client, payments)


@hookimpl
def hub_void_invoice(connection: Connection, invoice: DocumentRef):
    """Void (or, for a draft, delete) a pushed invoice when Xero allows it."""
    if not owns(connection, PLUGIN):
        return None
    from hub_accounting_xero.void import void_invoice

    with _client(connection) as client:
        return void_invoice(client, invoice)


@hookimpl
def hub_fetch_external_documents(connection: Connection, kind: str, since: dt.date | None,
                                 until: dt.date | None):
    """Invoices, credit notes or payments as they stand at Xero (changed since ``since``)."""
    if not owns(connection, PLUGIN):
        return None
    from hub_accounting_xero.pull import fetch_documents

    with _client(connection) as client:
        return fetch_documents(client, kind, since, until)


@hookimpl
def hub_receive_payment(connection: Connection, request):
    """Xero webhooks: payments recorded and invoices voided directly in Xero."""
    if not owns(connection, PLUGIN):
        return None
    from hub_accounting_xero.webhooks import receive

    return receive(connection, request)


@hookimpl
def hub_poll_payments(connection: Connection, since: dt.datetime):
    """Payments and voids made in Xero since ``since`` (If-Modified-Since): the catch-up for
    a missed webhook, as the same events a webhook brings."""
    if not owns(connection, PLUGIN):
        return None
    from hub_accounting_xero.webhooks import poll

    return poll(connection, since)


@hookimpl
def hub_register_commands(app):
    """``hub connect xero NAME``."""
    from hub_accounting_xero.cli import register

    register(app)


@hookimpl
def hub_register_routes(router):
    """The OAuth callback under /plugins/xero/."""
    from hub_accounting_xero.web import register

    register(router)
