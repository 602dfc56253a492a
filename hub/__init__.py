"""MSP billing hub: the host's public API.

Plugins import only from here and from the test kit (:mod:`hub.testing`, including the vendor
sandbox kit :mod:`hub.testing.vendor_sandbox`):

- the hook marker :data:`hookimpl` (the hooks themselves are in :mod:`hub.contract.hookspecs`);
- the records that cross the plugin boundary (:mod:`hub.contract.records`);
- connections: :class:`Connection`, :class:`ConnectionConfig` (a ``[[connections]]`` entry),
  :class:`ConnectionType`, :class:`ConnectionState`, ``owns``;
- :class:`Money`, :func:`minor_unit` (the hub's one minor-unit table) and the error tree (:mod:`hub.errors`);
- HTTP plumbing for source connectors: :class:`VendorHttp`, :class:`BearerTokenClient`,
  :func:`access_token_of`, :class:`RateLimiter`, :class:`TokenCache` (:mod:`hub.sources.vendor_http`,
  imported on first use so that ``import hub`` stays light for the CLI);
- for accounting plugins: :class:`PushLedger` (what a plugin remembers per connection to push
  each document exactly once) and :mod:`exact_json <hub.contract.exact_json>` (JSON whose
  amounts are exact decimals), both imported on first use;
- shared rate budgets per vendor account: :func:`rate_budget`, :class:`BudgetLimits`,
  :class:`RateBudget` (:mod:`hub.sources.budgets`; one budget per account for every worker).
"""

from hub.contract.connections import Connection, ConnectionState, ConnectionType, MemoryState, owns
from hub.contract.hookspecs import hookimpl
from hub.contract.records import *  # noqa: F401,F403 - the plugin-facing records are public API
from hub.contract.records import __all__ as _records_all
from hub.core.money import CurrencyMismatch, Money, minor_unit
from hub.errors import (
    ConfigError, ConnectorError, HubError, PermanentError, PluginError, TransientError,
    WebhookRejected,
)

#: Names served from :mod:`hub.sources.vendor_http` on first access (PEP 562), so a plugin that
#: never makes an HTTP call does not import httpx.
_VENDOR_HTTP = ("VendorHttp", "BearerTokenClient", "access_token_of", "RateLimiter", "TokenCache",
                "rate_limiter_for", "DEFAULT_TIMEOUT")

#: Served from :mod:`hub.config` on first access (it imports pydantic-settings).
_CONFIG = ("ConnectionConfig",)

#: Names served from :mod:`hub.sources.budgets` on first access.
_BUDGETS = ("rate_budget", "BudgetLimits", "BudgetExhausted", "RateBudget")

#: For accounting plugins, served on first access.
_ACCOUNTING = ("PushLedger", "exact_json")


def __getattr__(name: str):
    if name in _VENDOR_HTTP:
        from hub.sources import vendor_http

        return getattr(vendor_http, name)
    if name in _BUDGETS:
        from hub.sources import budgets

        return getattr(budgets, name)
    if name in _CONFIG:
        from hub.config import ConnectionConfig

        return ConnectionConfig
    if name == "PushLedger":
        from hub.contract.push_ledger import PushLedger

        return PushLedger
    if name == "exact_json":
        from hub.contract import exact_json

        return exact_json
    raise AttributeError(f"module 'hub' has no attribute {name!r}")


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
    "cli_connection", "cli_record_payment_events", "hookimpl", "Connection", "ConnectionState",
    "ConnectionType",
    "MemoryState", "owns", "Money", "CurrencyMismatch", "minor_unit", "HubError", "ConfigError",
    "PluginError", "ConnectorError", "TransientError", "PermanentError", "WebhookRejected",
    *_records_all, *_VENDOR_HTTP, *_BUDGETS, *_CONFIG, *_ACCOUNTING,
]
