"""MSP billing hub: the host's public API.

Plugins import only from here (and the modules it names): the hook marker, the records that
cross the plugin boundary, connection types, Money and the error tree.

Source connectors may also use :mod:`hub.vendor_http` (HTTP client with error mapping, rate limit
and token cache) and :mod:`hub.sandbox` (vendor sandboxes: rate limits, failures, ``serve``).
"""

from hub.connections import Connection, ConnectionState, ConnectionType, MemoryState, owns
from hub.core.money import CurrencyMismatch, Money
from hub.documents import *  # noqa: F401,F403 - the plugin-facing records are public API
from hub.documents import __all__ as _documents_all
from hub.errors import (
    ConfigError, ConnectorError, HubError, PermanentError, PluginError, TransientError,
    WebhookRejected,
)
from hub.hookspecs import hookimpl


def cli_connection(name: str) -> Connection:
    """The configured connection ``name`` of the running ``hub`` command, with its durable
    state: for plugin commands added through ``hub_register_commands`` (e.g. ``hub connect``)."""
    from hub.cli.state import context  # imported late: the CLI is not needed to import hub

    return context().connection(name)


def cli_record_payment_events(name: str, events) -> int:
    """Store ``events`` of connection ``name`` exactly as a webhook's are stored (once per
    event id; a worker applies them), for plugin commands that find what a webhook missed
    (e.g. a catch-up through the vendor's change feed). Returns how many were new."""
    from hub.cli.state import context  # imported late: the CLI is not needed to import hub
    from hub.jobs.inbox import store_events

    return len(store_events(context().engine, name, list(events), lease_seconds=0))


__all__ = [
    "cli_connection", "cli_record_payment_events", "hookimpl", "Connection", "ConnectionState", "ConnectionType", "MemoryState", "owns",
    "Money", "CurrencyMismatch", "HubError", "ConfigError", "PluginError", "ConnectorError",
    "TransientError", "PermanentError", "WebhookRejected", *_documents_all,
]
