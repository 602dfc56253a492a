"""HTTP plumbing every source connector needs: error mapping, rate limits, cached tokens.

Public API for plugins (next to :mod:`hub`): a connector builds one :class:`VendorHttp` per
connection and calls ``get``/``post``. What it does for them:

- **errors**: timeouts, connection failures, 5xx and 429 become
  :class:`hub.errors.TransientError` (``retry_after`` from the ``Retry-After`` header); other 4xx
  become :class:`hub.errors.PermanentError` carrying the vendor's message; 401 first asks the
  token source for a fresh token once;
- **shared rate budget**: every call goes through the vendor account's
  :class:`~hub.sources.budgets.RateBudget` (``limits``, or ``requests_per_minute`` alone), shared
  by every worker of the hub (Redis) and keyed by ``account`` (default: the connection name);
  a 429's ``Retry-After`` holds every worker off that account, and each call is counted for
  ``/metrics`` (vendor calls and 429s by connection);
- **tokens**: :class:`TokenCache` keeps an access token in the connection's durable state until
  shortly before it expires, so workers do not log in on every page;
- **bearer-token clients**: :class:`BearerTokenClient` is the shape of a connector client whose
  vendor hands out an access token at a log-in endpoint (OAuth client credentials, password
  grant, ...): a subclass names its vendor and token key and implements ``_login`` with
  ``self._login_http``; :func:`access_token_of` reads the token answer.
"""

from __future__ import annotations

import datetime as dt
import ssl
import threading
import time
from collections import deque
from typing import Any, Callable

import httpx

from hub.contract.connections import Connection
from hub.errors import PermanentError, TransientError
from hub.observe.counters import count_vendor_call
from hub.sources.budgets import BudgetLimits, RateBudget, rate_budget

__all__ = ["VendorHttp", "RateLimiter", "TokenCache", "rate_limiter_for", "DEFAULT_TIMEOUT",
           "BearerTokenClient", "access_token_of"]

DEFAULT_TIMEOUT = 30.0
#: Refresh a cached token this long before the vendor says it expires.
TOKEN_MARGIN = dt.timedelta(minutes=2)


class RateLimiter:
    """At most ``per_minute`` acquisitions in any sliding 60-second window, in this process only
    (thread-safe). Connectors use the shared :class:`~hub.sources.budgets.RateBudget` instead;
    this stays for plugins that pace something local."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self.sleep = sleep
        self._calls: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Wait until a call is allowed; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self.clock()
                while self._calls and now - self._calls[0] >= 60.0:
                    self._calls.popleft()
                if len(self._calls) < self.per_minute:
                    self._calls.append(now)
                    return waited
                pause = 60.0 - (now - self._calls[0])
            self.sleep(pause)
            waited += pause


_SSL_CONTEXT: ssl.SSLContext | None = None


def _ssl_context() -> ssl.SSLContext:
    # Building a verifying context loads the CA bundle (~0.1 s); connectors make a client per
    # page, so every client shares one context.
    global _SSL_CONTEXT
    if _SSL_CONTEXT is None:
        _SSL_CONTEXT = ssl.create_default_context()
    return _SSL_CONTEXT


_LIMITERS: dict[tuple[str, int], RateLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


def rate_limiter_for(connection_name: str, per_minute: int) -> RateLimiter:
    """The process-wide limiter of one connection (one budget however many clients it has)."""
    with _LIMITERS_LOCK:
        key = (connection_name, per_minute)
        if key not in _LIMITERS:
            _LIMITERS[key] = RateLimiter(per_minute)
        return _LIMITERS[key]


class TokenCache:
    """An access token kept in ``connection.state`` until it nearly expires.

    ``fetch()`` returns ``(token, lifetime_seconds)``; it is called only when no valid token is
    cached. Stored as a secret, so the durable state encrypts it.
    """

    def __init__(self, connection: Connection, fetch: Callable[[], tuple[str, float]],
                 key: str = "access_token") -> None:
        self.connection = connection
        self.fetch = fetch
        self.key = key

    def token(self, *, force: bool = False) -> str:
        """A valid token, fetching a new one when forced or when the cached one is stale."""
        cached = self.connection.state.get(self.key)
        now = self.connection.now()
        if cached and not force:
            expires = dt.datetime.fromisoformat(cached["expires_at"])
            if now + TOKEN_MARGIN < expires:
                return cached["token"]
        token, lifetime = self.fetch()
        value = {"token": token,
                 "expires_at": (now + dt.timedelta(seconds=float(lifetime))).isoformat()}
        self.connection.state.set(self.key, value, secret=True)
        return token


def _vendor_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    if isinstance(body, dict):
        for key in ("message", "error_description", "error", "errors", "detail"):
            if body.get(key):
                return str(body[key])[:500]
    return str(body)[:500]


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


#: Remaining-calls headers some vendors send, by the budget window they describe.
REMAINING_HEADERS = {"minute": ("X-RateLimit-Remaining-Minute", "X-MinLimit-Remaining"),
                     "hour": ("X-RateLimit-Remaining-Hour",),
                     "day": ("X-RateLimit-Remaining-Day", "X-DayLimit-Remaining")}


def _remaining(response: httpx.Response) -> dict[str, int]:
    found = {}
    for window, names in REMAINING_HEADERS.items():
        for name in names:
            value = response.headers.get(name)
            if value is not None and value.strip().isdigit():
                found[window] = int(value)
                break
    return found


class VendorHttp:
    """A connection's HTTP client to its vendor (see module docstring)."""

    def __init__(self, connection: Connection, base_url: str, *,
                 auth_headers: Callable[[bool], dict[str, str]] | None = None,
                 requests_per_minute: int | None = None, timeout: float = DEFAULT_TIMEOUT,
                 transport: httpx.BaseTransport | None = None, vendor: str = "vendor",
                 limits: BudgetLimits | None = None, account: str | None = None) -> None:
        self.connection = connection
        self.vendor = vendor
        self.auth_headers = auth_headers
        if limits is None and requests_per_minute:
            limits = BudgetLimits(per_minute=requests_per_minute)
        self.budget: RateBudget | None = None
        if limits is not None:
            limits = BudgetLimits(**{**limits.__dict__, "call_timeout_seconds": timeout})
            self.budget = rate_budget(connection, account or connection.name, limits)
        self.client = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout,
                                   transport=transport, verify=_ssl_context())

    def close(self) -> None:
        """Close the underlying connection pool."""
        self.client.close()

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        """Send one request and return its JSON body, mapping failures to the error tree."""
        refreshed = False
        while True:
            headers = dict(kwargs.pop("headers", None) or {})
            if self.auth_headers:
                headers.update(self.auth_headers(refreshed))
            try:
                response = self._send(method, url, headers, kwargs)
            except httpx.TimeoutException as exc:
                raise TransientError(f"{self.vendor} timed out on {method} {url}",
                                     hint="the pull is retried; check the vendor's status page "
                                          "if it keeps happening") from exc
            except httpx.TransportError as exc:
                raise TransientError(f"{self.vendor} unreachable on {method} {url}: {exc}",
                                     hint="the pull is retried; check the base_url and network"
                                     ) from exc
            if response.status_code == 401 and self.auth_headers and not refreshed:
                refreshed = True  # the token may have been revoked early: log in once more
                kwargs["headers"] = {k: v for k, v in headers.items()
                                     if k.lower() != "authorization"}
                continue
            return self._result(method, url, response)

    def _send(self, method: str, url: str, headers: dict[str, str], kwargs: dict[str, Any]
              ) -> httpx.Response:
        if self.budget is None:
            try:
                response = self.client.request(method, url, headers=headers, **kwargs)
            except httpx.TransportError:
                count_vendor_call(self.connection.name, 0)
                raise
            count_vendor_call(self.connection.name, response.status_code)
            return response
        with self.budget.call() as call:
            try:
                response = self.client.request(method, url, headers=headers, **kwargs)
            except httpx.TransportError:
                count_vendor_call(self.connection.name, 0)
                raise
            call.answered(response.status_code, retry_after=_retry_after(response),
                          remaining=_remaining(response))
        return response

    def _result(self, method: str, url: str, response: httpx.Response) -> Any:
        status = response.status_code
        if status == 429:
            raise TransientError(f"{self.vendor} rate limit reached on {method} {url}",
                                 retry_after=_retry_after(response),
                                 hint="the pull waits and continues; lower requests_per_minute")
        if status >= 500:
            raise TransientError(f"{self.vendor} answered {status} on {method} {url}",
                                 retry_after=_retry_after(response),
                                 hint="the pull is retried")
        if status >= 400:
            message = _vendor_message(response)
            hint = ("check the connection's credentials in hub.toml" if status in (401, 403)
                    else "the request was refused; see the vendor's message")
            raise PermanentError(f"{self.vendor} refused {method} {url} ({status}): {message}",
                                 vendor_message=message, hint=hint)
        if not response.content:
            return None
        return response.json()

    def get(self, url: str, **kwargs: Any) -> Any:
        """GET ``url`` (relative to the base URL); returns the JSON body."""
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Any:
        """POST to ``url``; returns the JSON body."""
        return self.request("POST", url, **kwargs)


def access_token_of(body: Any, vendor: str, *, hint: str,
                    default_lifetime: float = 3600) -> tuple[str, float]:
    """``(access_token, expires_in)`` from a token endpoint's JSON answer.

    Refuses with :class:`PermanentError` (carrying ``hint``, e.g. which credentials to check)
    when the vendor answered without a token; ``default_lifetime`` stands in for a missing
    ``expires_in``.
    """
    if not body or "access_token" not in body:
        raise PermanentError(f"{vendor} gave no access token", hint=hint)
    return body["access_token"], float(body.get("expires_in", default_lifetime))


class BearerTokenClient:
    """Base of a connection's client to a vendor that takes ``Authorization: Bearer <token>``.

    Subclasses set :attr:`vendor` (the name in error messages) and :attr:`token_key` (where the
    token is cached in ``connection.state``) and implement :meth:`_login`, which logs in through
    ``self._login_http`` (a client without auth headers, so logging in never recurses) and
    returns ``(token, lifetime_seconds)`` (see :func:`access_token_of`). The connection's
    settings must carry ``base_url``, ``requests_per_minute`` and ``timeout_seconds``.

    The client is cheap to build; ``self.http`` is the authenticated :class:`VendorHttp` (rate
    limited per connection, re-logs in once on a 401) and ``self.tokens`` the :class:`TokenCache`.
    """

    vendor: str = "vendor"
    token_key: str = "access_token"

    def __init__(self, connection: Connection, *, transport: httpx.BaseTransport | None = None
                 ) -> None:
        settings = connection.settings
        self.settings = settings
        self.tokens = TokenCache(connection, self._login, key=self.token_key)
        self.http = VendorHttp(connection, settings.base_url, auth_headers=self._auth,
                               requests_per_minute=settings.requests_per_minute,
                               timeout=settings.timeout_seconds, transport=transport,
                               vendor=self.vendor)
        self._login_http = VendorHttp(connection, settings.base_url,
                                      timeout=settings.timeout_seconds, transport=transport,
                                      vendor=self.vendor)

    def _login(self) -> tuple[str, float]:
        """Ask the vendor for a new access token: ``(token, lifetime_seconds)``."""
        raise NotImplementedError(f"{type(self).__name__} must implement _login")

    def _auth(self, force: bool) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens.token(force=force)}"}

    def close(self) -> None:
        """Release the HTTP connections."""
        self.http.close()
        self._login_http.close()
