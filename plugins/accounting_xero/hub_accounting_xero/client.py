"""A thin httpx client for Xero's Accounting API that turns every answer into data or a
named error.

- pacing: every call takes its place in the tenant's shared rate budget (:func:`hub.rate_budget`,
  one budget for every worker), paced in advance rather than spending a call on a 429;
- 429: waits ``Retry-After`` inline when it is short (``max_inline_wait_seconds``) and sends the
  same request again (Xero did not process it), else :class:`TransientError` with
  ``retry_after``; a *day* limit pauses the connection;
- 401: refreshes the token once and resends; 403 (organisation disconnected):
  :class:`PermanentError` with a hint to reconnect;
- 5xx, timeouts and dropped connections: :class:`OutcomeUnknown` for writes (Xero may have
  stored the documents: look them up before sending again), :class:`TransientError` for reads;
- 400: :class:`PermanentError` carrying Xero's own message.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Mapping

import httpx

from hub import BudgetExhausted, Connection, PermanentError, TransientError, exact_json

from hub_accounting_xero.auth import (
    TENANT, ConnectionRevoked, TokenManager, choose_tenant, reconnect_hint,
)
from hub_accounting_xero.ratelimit import (
    app_budget, budget_for, pause, paused_for, remaining_of, remember, tenant_budget,
)
from hub_accounting_xero.settings import XeroSettings

__all__ = ["XeroClient", "OutcomeUnknown", "xero_message"]


class OutcomeUnknown(TransientError):
    """A write whose fate Xero did not tell us (timeout, dropped connection, 5xx)."""


def xero_message(body: Any) -> str:
    """Xero's own words from an error or element: every ValidationErrors message, else
    ``Message``/``Detail``."""
    if not isinstance(body, Mapping):
        return str(body)
    messages = [v.get("Message", "") for v in body.get("ValidationErrors") or []]
    for element in body.get("Elements") or []:
        messages += [v.get("Message", "") for v in element.get("ValidationErrors") or []]
    if messages:
        return "; ".join(m for m in messages if m)
    return str(body.get("Message") or body.get("Detail") or body.get("Title") or body)


def _retry_after(response: httpx.Response) -> float:
    """Xero's Retry-After in seconds (60 when missing or unreadable)."""
    try:
        return max(0.0, float(response.headers.get("retry-after", "60")))
    except ValueError:
        return 60.0


class XeroClient:
    """Calls the Accounting API for one connection (one organisation)."""

    def __init__(self, connection: Connection, http: httpx.Client | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.connection = connection
        self.settings: XeroSettings = connection.settings  # type: ignore[assignment]
        self.http = http or httpx.Client(timeout=self.settings.timeout_seconds)
        self._own_http = http is None
        self.tokens = TokenManager(connection, self.http)
        self.sleep = sleep
        self.calls = 0

    def close(self) -> None:
        """Close the HTTP connection pool if this client opened it."""
        if self._own_http:
            self.http.close()

    def __enter__(self) -> "XeroClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def tenant_id(self) -> str:
        """The organisation every call goes to (chosen through /connections once)."""
        tenant = self.connection.state.get(TENANT) or self.settings.tenant_id
        if not tenant:
            tenant = choose_tenant(self.connection, self.http, self.tokens.access_token())
        return tenant

    # ------------------------------------------------------------------------------ verbs
    def get(self, path: str, params: Mapping[str, str] | None = None,
            if_modified_since: str | None = None) -> dict[str, Any]:
        """GET and return the decoded answer."""
        headers = {"If-Modified-Since": if_modified_since} if if_modified_since else {}
        return self.request("GET", path, params=params, headers=headers)

    def write(self, method: str, path: str, body: Any, idempotency_key: str,
              params: Mapping[str, str] | None = None) -> dict[str, Any]:
        """PUT/POST ``body`` with an ``Idempotency-Key`` and return the decoded answer."""
        return self.request(method, path, params=params, body=body,
                            headers={"Idempotency-Key": idempotency_key[:128]})

    def request(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
                body: Any = None, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
        """One API call with Xero's error handling (see the module docstring)."""
        paused = paused_for(self.connection)
        if paused:
            raise TransientError(f"Xero connection {self.connection.name!r} reached its daily "
                                 "call limit", retry_after=paused)
        tenant = self.tenant_id()
        budget = budget_for(tenant)
        shared = tenant_budget(self.connection, tenant, self.settings.timeout_seconds)
        app = app_budget(self.connection, self.settings.client_id)
        url = self.settings.base_url.rstrip("/") + path
        content = exact_json.dumps(body) if body is not None else None
        waited = 0.0
        refreshed = False
        while True:
            send_headers = {"Authorization": f"Bearer {self.tokens.access_token()}",
                            "xero-tenant-id": tenant, "Accept": "application/json",
                            **(headers or {})}
            if content is not None:
                send_headers["Content-Type"] = "application/json"
            try:
                # the app's minute first (no slot held while waiting), then the organisation's
                # slot and windows, released as soon as Xero has answered
                with app.call(), shared.call() as call:
                    self.calls += 1
                    budget.calls += 1
                    try:
                        response = self.http.request(method, url, params=params,
                                                     content=content, headers=send_headers,
                                                     timeout=self.settings.timeout_seconds)
                    except httpx.TransportError:
                        call.answered(0)
                        raise
                    retry_after = _retry_after(response) if response.status_code == 429 else None
                    call.answered(response.status_code, remaining=remaining_of(response.headers),
                                  retry_after=retry_after)
                    app_minute = response.headers.get("x-appminlimit-remaining", "")
                    if app_minute.strip().isdigit():
                        app.observe("minute", int(app_minute))
            except BudgetExhausted as exc:
                if exc.window == "day":  # paced before Xero refused: pause like its 429 would
                    pause(self.connection, exc.retry_after or 3600)
                    raise TransientError(f"Xero daily call limit reached for connection "
                                         f"{self.connection.name!r}",
                                         retry_after=exc.retry_after) from exc
                raise
            except httpx.TransportError as exc:
                what = f"{method} {path}: {type(exc).__name__} {exc}".strip()
                if method == "GET":
                    raise TransientError(f"Xero did not answer {what}", retry_after=5) from exc
                raise OutcomeUnknown(f"Xero did not answer {what}; the documents may or may "
                                     "not have been stored", retry_after=5) from exc
            budget.update(response.headers)
            remember(self.connection, budget)
            status = response.status_code
            if status == 429:
                retry_after = _retry_after(response)
                problem = response.headers.get("x-rate-limit-problem", "minute")
                if problem == "day":
                    pause(self.connection, retry_after)
                    raise TransientError(f"Xero daily call limit reached for connection "
                                         f"{self.connection.name!r}", retry_after=retry_after)
                if waited + retry_after <= self.settings.max_inline_wait_seconds:
                    waited += retry_after
                    self.sleep(retry_after)
                    continue
                raise TransientError(f"Xero rate limit ({problem})", retry_after=retry_after)
            if status == 401 and not refreshed:
                refreshed = True
                self.tokens.refresh()
                continue
            if status in (401, 403):
                raise ConnectionRevoked(
                    f"Xero refused access to organisation {tenant} for connection "
                    f"{self.connection.name!r} ({status}): the connection was revoked",
                    hint=reconnect_hint(self.connection))
            if status >= 500:
                error = OutcomeUnknown if method != "GET" else TransientError
                raise error(f"Xero answered {status} to {method} {path}", retry_after=30)
            payload = exact_json.loads(response.content) if response.content else {}
            if status >= 400:
                message = xero_message(payload)
                raise PermanentError(f"Xero rejected {method} {path}: {message}",
                                     vendor_message=message)
            return payload
