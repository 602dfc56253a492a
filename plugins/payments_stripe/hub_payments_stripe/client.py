"""The official ``stripe`` library's :class:`stripe.StripeClient`, built for one connection.

All calls to Stripe go through the library (its encoding, error classes and idempotency
headers); this module only chooses *where* it talks to (``api_base``: Stripe or the sandbox) and
*over what*: an ``httpx.Client`` that a test or the demo can replace (for example a FastAPI
``TestClient`` wrapping the sandbox in-process).
"""

from __future__ import annotations

import threading
from typing import Callable, Mapping

import httpx
import stripe

from hub import Connection

from hub_payments_stripe.settings import StripeSettings

__all__ = ["HttpxStripeHTTPClient", "client_for", "use_http_client", "plain", "API_VERSION"]

#: The API version whose object shapes we parse and our sandbox speaks (spec3.yaml's version);
#: pinned so an account upgrade at Stripe cannot change what our code reads.
API_VERSION = "2023-08-16"


class HttpxStripeHTTPClient(stripe.HTTPClient):
    """A ``stripe.HTTPClient`` over any synchronous ``httpx.Client``.

    Network failures become ``stripe.APIConnectionError`` (as with the library's own clients),
    which the charge and refund hooks turn into a *retry* outcome.
    """

    name = "httpx-hub"

    def __init__(self, client: httpx.Client) -> None:
        super().__init__()
        self._client = client

    def request(self, method: str, url: str, headers: Mapping[str, str] | None,
                post_data=None, *, _usage=None):
        try:
            response = self._client.request(method.upper(), url, headers=dict(headers or {}),
                                            content=post_data)
        except httpx.TransportError as exc:
            raise stripe.APIConnectionError(
                f"could not reach Stripe at {url}: {type(exc).__name__}: {exc}",
                should_retry=True) from exc
        return response.content, response.status_code, response.headers

    def request_stream(self, method, url, headers, post_data=None, *, _usage=None):
        content, status, rheaders = self.request(method, url, headers, post_data)
        return iter([content]), status, rheaders

    def close(self) -> None:
        self._client.close()


def plain(obj) -> dict:
    """A library object as plain JSON data (``StripeObject`` is no longer a dict in v16)."""
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


_factories: dict[str, Callable[[], httpx.Client]] = {}
_cache: dict[tuple, stripe.StripeClient] = {}
_lock = threading.Lock()


def use_http_client(connection_name: str, factory: Callable[[], httpx.Client] | None) -> None:
    """Make connection ``connection_name`` talk over ``factory()``'s client (``None``: default).

    The seam for tests and the demo: ``use_http_client("stripe", lambda: TestClient(app))``
    runs every call of that connection against an in-process sandbox.
    """
    with _lock:
        if factory is None:
            _factories.pop(connection_name, None)
        else:
            _factories[connection_name] = factory
        for key in [k for k in _cache if k[0] == connection_name]:
            del _cache[key]


def client_for(connection: Connection) -> stripe.StripeClient:
    """The (cached) StripeClient for ``connection``'s settings."""
    settings: StripeSettings = connection.settings  # type: ignore[assignment]
    key = (connection.name, settings.api_base, settings.api_key.get_secret_value(),
           settings.max_network_retries, settings.timeout_seconds)
    with _lock:
        client = _cache.get(key)
        if client is None:
            factory = _factories.get(connection.name)
            http = factory() if factory else httpx.Client(timeout=settings.timeout_seconds)
            client = stripe.StripeClient(
                settings.api_key.get_secret_value(),
                base_addresses={"api": settings.api_base},
                stripe_version=API_VERSION,
                max_network_retries=settings.max_network_retries,
                http_client=HttpxStripeHTTPClient(http),
            )
            _cache[key] = client
        return client
