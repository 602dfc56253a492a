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
  each document exactly once), :mod:`exact_json <hub.contract.exact_json>` (JSON whose
  amounts are exact decimals) and OAuth 2.0 with rotating refresh tokens
  (:class:`RotatingTokens`, :class:`OAuthProvider`, :class:`ConnectionRevoked` and the module
  :mod:`oauth <hub.contract.oauth>`), all imported on first use;
- shared rate budgets per vendor account: :func:`rate_budget`, :class:`BudgetLimits`,
  :class:`RateBudget` (:mod:`hub.sources.budgets`; one budget per account for every worker).
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # what the names below are, for type checkers; at run time see __getattr__
    from hub.contract.connections import (  # noqa: F401
        Connection, ConnectionState, ConnectionType, MemoryState, owns,
    )
    from hub.contract.hookspecs import hookimpl  # noqa: F401
    from hub.contract.oauth import ConnectionRevoked, OAuthProvider, RotatingTokens  # noqa: F401
    from hub.contract.records import *  # noqa: F401,F403
    from hub.core.money import CurrencyMismatch, Money, minor_unit  # noqa: F401
    from hub.validation.limits import MAX_ID  # noqa: F401
    from hub.errors import (  # noqa: F401
        ConfigError, ConnectorError, HubError, PermanentError, PluginError, TransientError,
        WebhookRejected,
    )

#: Every public name is served from its module on first access (PEP 562): ``import hub`` (which
#: every ``hub`` command does) imports none of them, so a command that needs no records, money or
#: connections (``hub --help``) does not pay for pydantic and the records' models.
_FROM = {
    **dict.fromkeys(("Connection", "ConnectionState", "ConnectionType", "MemoryState", "owns"),
                    "hub.contract.connections"),
    "hookimpl": "hub.contract.hookspecs",
    **dict.fromkeys(("CurrencyMismatch", "Money", "minor_unit"), "hub.core.money"),
    "MAX_ID": "hub.validation.limits",  # the largest row id: a plugin's CLI bounds ids by it
    **dict.fromkeys(("ConfigError", "ConnectorError", "HubError", "PermanentError",
                     "PluginError", "TransientError", "WebhookRejected"), "hub.errors"),
}

#: Names served from :mod:`hub.sources.vendor_http` on first access (PEP 562), so a plugin that
#: never makes an HTTP call does not import httpx.
_VENDOR_HTTP = ("VendorHttp", "BearerTokenClient", "access_token_of", "RateLimiter", "TokenCache",
                "rate_limiter_for", "DEFAULT_TIMEOUT")

#: Served from :mod:`hub.config` on first access (importing it builds the settings models).
_CONFIG = ("ConnectionConfig",)

#: Names served from :mod:`hub.sources.budgets` on first access.
_BUDGETS = ("rate_budget", "BudgetLimits", "BudgetExhausted", "RateBudget")

#: For accounting plugins, served on first access (``exact_json`` and ``oauth`` are modules).
_OAUTH = ("ConnectionRevoked", "OAuthProvider", "RotatingTokens")
_ACCOUNTING = ("PushLedger", "exact_json", "oauth", *_OAUTH)


#: Every lazily served name and the module it comes from (the records' names are looked up in
#: their module's ``__all__``; ``exact_json`` is a module itself).
_LAZY = {**_FROM, **dict.fromkeys(_VENDOR_HTTP, "hub.sources.vendor_http"),
         **dict.fromkeys(_BUDGETS, "hub.sources.budgets"), "ConnectionConfig": "hub.config",
         "PushLedger": "hub.contract.push_ledger",
         **dict.fromkeys(_OAUTH, "hub.contract.oauth")}


def __getattr__(name: str):
    import importlib

    if name == "__all__":
        value = _public_names()
    elif name in ("exact_json", "oauth"):
        value = importlib.import_module(f"hub.contract.{name}")
    elif name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    else:
        records = None if name.startswith("_") else importlib.import_module(
            "hub.contract.records")
        if records is None or name not in records.__all__:
            raise AttributeError(f"module 'hub' has no attribute {name!r}")
        value = getattr(records, name)
    # kept in the module's namespace: the next access is a plain attribute look-up
    globals()[name] = value
    return value


def cli_connection(name: str) -> "Connection":
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


def _public_names() -> list[str]:
    """``__all__``, made on first use: the records' names come from their module."""
    from hub.contract.records import __all__ as records_all

    return ["cli_connection", "cli_record_payment_events", *_FROM, *records_all, *_VENDOR_HTTP,
            *_BUDGETS, *_CONFIG, *_ACCOUNTING]


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_public_names()))
