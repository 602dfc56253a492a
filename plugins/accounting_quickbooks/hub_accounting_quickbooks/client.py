"""A thin httpx client for the QuickBooks Online Accounting API v3 that turns every answer into
data or a named error.

Every call goes to ``{base_url}/company/{realmId}/...`` with ``minorversion`` pinned, is paced
under Intuit's throttles by the hub's shared budgets of the company (:mod:`.ratelimit`: every
worker counts in one budget) and, for writes, carries a ``requestid`` (Intuit answers a
repeated id with the original answer for a while, never promised how long).

- 429: pauses the company's budget for every worker for ``Retry-After`` (default 60 s,
  Intuit's advice), waits inline when that is short enough (``max_inline_wait_seconds``) and
  sends again (nothing was processed), else :class:`TransientError` with ``retry_after``; a
  budget with no room for longer than a call may wait raises :class:`hub.BudgetExhausted` (a
  ``TransientError``) so the job is retried later;
- 401: refreshes the token once and resends; a second 401 or a 403:
  :class:`ConnectionRevoked` with a hint to reconnect;
- 5xx, timeouts, dropped connections: :class:`OutcomeUnknown` for writes (look the documents
  up before sending again), :class:`TransientError` for reads;
- 400 with a ``Fault``: :class:`PermanentError` carrying Intuit's own message.
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from typing import Any, Callable, Mapping

import httpx

from hub import Connection, PermanentError, TransientError, exact_json

from hub_accounting_quickbooks.auth import ConnectionRevoked, TokenManager, realm_of, reconnect_hint
from hub_accounting_quickbooks.ratelimit import batch_budget, realm_budget
from hub_accounting_quickbooks.settings import QuickBooksSettings

__all__ = ["QuickBooksClient", "OutcomeUnknown", "QuickBooksFault", "fault_message",
           "fault_codes"]

THROTTLE_WAIT = 60.0


class OutcomeUnknown(TransientError):
    """A write whose fate QuickBooks did not tell us (timeout, dropped connection, 5xx)."""


class QuickBooksFault(PermanentError):
    """QuickBooks refused the request (400 ``Fault``); ``codes`` are Intuit's error codes."""

    def __init__(self, message: str, *, vendor_message: str, codes: set[str]) -> None:
        super().__init__(message, vendor_message=vendor_message)
        self.codes = codes


def fault_codes(body: Any) -> set[str]:
    """The error codes of a ``Fault`` (e.g. ``{"6140"}`` for a duplicate DocNumber)."""
    fault = body.get("Fault") if isinstance(body, Mapping) else None
    return {str(e.get("code", "")) for e in (fault or {}).get("Error") or []}


def fault_message(body: Any) -> str:
    """Intuit's own words from a ``Fault``: each error's Message and Detail."""
    fault = body.get("Fault") if isinstance(body, Mapping) else None
    if not fault:
        return str(body)
    parts = []
    for error in fault.get("Error") or []:
        message, detail = error.get("Message", ""), error.get("Detail", "")
        parts.append(f"{message}: {detail}" if detail and detail != message else message)
    return "; ".join(p for p in parts if p) or str(fault)


def _retry_after(response: httpx.Response) -> float:
    """Intuit's ``Retry-After`` in seconds (60, its advice, when absent or unreadable)."""
    try:
        return float(response.headers.get("retry-after", THROTTLE_WAIT))
    except ValueError:
        return float(THROTTLE_WAIT)


class QuickBooksClient:
    """Calls the Accounting API for one connection (one company)."""

    def __init__(self, connection: Connection, http: httpx.Client | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.connection = connection
        self.settings: QuickBooksSettings = connection.settings  # type: ignore[assignment]
        self.http = http or httpx.Client(timeout=self.settings.timeout_seconds)
        self._own_http = http is None
        self.tokens = TokenManager(connection, self.http)
        self.sleep = sleep
        self.calls = 0

    def close(self) -> None:
        """Close the HTTP connection pool if this client opened it."""
        if self._own_http:
            self.http.close()

    def __enter__(self) -> "QuickBooksClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------ verbs
    def query(self, statement: str) -> dict[str, Any]:
        """``GET .../query``: the ``QueryResponse`` of a QuickBooks SQL-like statement."""
        return self.request("GET", "/query", params={"query": statement}).get("QueryResponse", {})

    def get(self, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        """GET and return the decoded answer."""
        return self.request("GET", path, params=params)

    def write(self, path: str, body: Any, request_id: str,
              operation: str | None = None) -> dict[str, Any]:
        """POST ``body`` (create, or ``operation`` update/delete/void) with a ``requestid``."""
        params = {"requestid": request_id[:50]}
        if operation:
            params["operation"] = operation
        return self.request("POST", path, params=params, body=body)

    def batch(self, items: list[dict[str, Any]], request_id: str) -> dict[str, dict[str, Any]]:
        """``POST .../batch``: answers by ``bId``. At most ``batch_size`` items."""
        answer = self.request("POST", "/batch", params={"requestid": request_id[:36]},
                              body={"BatchItemRequest": items})
        return {item.get("bId", ""): item for item in answer.get("BatchItemResponse", [])}

    def request(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
                body: Any = None) -> dict[str, Any]:
        """One API call with Intuit's error handling (see the module docstring)."""
        realm = realm_of(self.connection)
        url = f"{self.settings.base_url.rstrip('/')}/company/{realm}{path}"
        query = {**(params or {}), "minorversion": str(self.settings.minor_version)}
        content = exact_json.dumps(body) if body is not None else None
        shared = realm_budget(self.connection, realm, self.settings.timeout_seconds)
        batches = batch_budget(self.connection, realm) if path == "/batch" else None
        waited = 0.0
        refreshed = False
        while True:
            headers = {"Authorization": f"Bearer {self.tokens.access_token()}",
                       "Accept": "application/json"}
            if content is not None:
                headers["Content-Type"] = "application/json"
            try:
                # the batch minute first (no slot held while waiting), then the company's slot
                # and windows, released as soon as Intuit has answered
                with (batches.call() if batches else nullcontext()), shared.call() as call:
                    self.calls += 1
                    try:
                        response = self.http.request(method, url, params=query,
                                                     content=content, headers=headers,
                                                     timeout=self.settings.timeout_seconds)
                    except httpx.TransportError:
                        call.answered(0)
                        raise
                    call.answered(response.status_code, retry_after=(
                        _retry_after(response) if response.status_code == 429 else None))
            except httpx.TransportError as exc:
                what = f"{method} {path}: {type(exc).__name__} {exc}".strip()
                if method == "GET":
                    raise TransientError(f"QuickBooks did not answer {what}", retry_after=5) from exc
                raise OutcomeUnknown(f"QuickBooks did not answer {what}; the documents may or "
                                     "may not have been stored", retry_after=5) from exc
            status = response.status_code
            if status == 429:
                retry_after = _retry_after(response)
                if waited + retry_after <= self.settings.max_inline_wait_seconds:
                    waited += retry_after
                    self.sleep(retry_after)
                    continue
                raise TransientError("QuickBooks throttled the request", retry_after=retry_after)
            if status == 401 and not refreshed:
                refreshed = True
                self.tokens.refresh()
                continue
            if status in (401, 403):
                raise ConnectionRevoked(
                    f"QuickBooks refused access to company {realm} for connection "
                    f"{self.connection.name!r} ({status}): the connection was revoked",
                    hint=reconnect_hint(self.connection))
            if status >= 500:
                error = OutcomeUnknown if method != "GET" else TransientError
                raise error(f"QuickBooks answered {status} to {method} {path}", retry_after=30)
            try:
                payload = exact_json.loads(response.content) if response.content else {}
            except ValueError as exc:
                raise TransientError(f"QuickBooks answered {status} with a body that is not "
                                     f"JSON: {exc}", retry_after=30) from exc
            if status >= 400:
                message = fault_message(payload)
                raise QuickBooksFault(f"QuickBooks rejected {method} {path}: {message}",
                                      vendor_message=message, codes=fault_codes(payload))
            return payload
