"""The QuickBooks Online sandbox: an app answering like Intuit, plus a handle to run and inspect it.

Usage in a test::

    sandbox = QuickBooksSandbox(scale=60)
    with sandbox.serve() as url:
        settings = sandbox.settings_for(url)   # base_url/token_url pointing at it
        ...
    sandbox.books().invoices()                 # what it stores
    assert not sandbox.schema_violations       # every body matched Intuit's XSDs

Every accounting request goes through: bearer token -> company -> ``minorversion`` -> throttles
-> injected fault -> XSD check of the body (a violation is a 400 *and* is recorded) ->
``requestid`` replay -> handler -> remembered for the requestid -> injected slowness or dropped
connection. Sandbox convenience: a 429 carries ``Retry-After`` (the real seconds until the
window frees) where Intuit only advises waiting a minute.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import secrets
import threading
from dataclasses import dataclass
from typing import Any, Iterator
from urllib.parse import parse_qsl, urlencode

from hub import exact_json
from hub.testing.faults import Fault, Faults
from hub.testing.scaled_clock import ScaledClock

from hub_accounting_quickbooks.sandbox.api import ENTITY_PATHS, dispatch
from hub_accounting_quickbooks.sandbox.books import Books
from hub_accounting_quickbooks.sandbox.limits import Limits, RateLimiter

__all__ = ["QuickBooksSandbox", "LoggedCall", "API_PREFIX"]

API_PREFIX = "/v3"
ACCESS_SECONDS = 3600
MIN_MINOR_VERSION = 75


@dataclass(frozen=True)
class LoggedCall:
    """One accounting request as the sandbox saw it."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    items: int = 0
    replayed: bool = False
    fault: str | None = None


class _Dropped(Exception):
    """Raised after the response started, so the server drops the connection."""


def _fault(code: str, message: str, detail: str, kind: str = "ValidationFault") -> dict:
    return {"Fault": {"Error": [{"Message": message, "Detail": detail, "code": code,
                                 "element": ""}], "type": kind}}


class QuickBooksSandbox:
    """A local QuickBooks Online: OAuth2 and the Accounting API endpoints the plugin uses."""

    def __init__(self, *, scale: float = 1.0, limits: Limits | None = None,
                 client_id: str = "sandbox-client", client_secret: str = "sandbox-secret",
                 realm_id: str = "9130357992221046", validate: bool = True,
                 remember_request_ids: bool = True) -> None:
        # ``validate=False`` (a demo on a machine without the shared specs folder) answers
        # without checking bodies against the XSDs; tests keep validating.
        self.clock = ScaledClock(scale)
        self.limiter = RateLimiter(self.clock, limits)
        self.client_id, self.client_secret, self.realm_id = client_id, client_secret, realm_id
        self.verifier_token = "sandbox-verifier-token"
        self._books = Books(self.clock.now)
        self.faults = Faults()
        self.calls: list[LoggedCall] = []
        self.schema_violations: list[tuple[str, str, list[str]]] = []
        self.token_calls = 0
        self._codes: set[str] = set()
        self._access: dict[str, float] = {}
        self._refresh: set[str] = set()
        self._request_ids: dict[str, tuple[str, int, bytes]] = {}
        self._notified = 0
        #: False: Intuit's requestid memory has always just lapsed (no replay at all)
        self.remember_request_ids = remember_request_ids
        self.lock = threading.RLock()
        if validate:
            from hub_accounting_quickbooks.sandbox.schema import load_checker

            self.checker = load_checker()
        else:
            self.checker = None

    # ------------------------------------------------------------------------------ inspection
    def books(self) -> Books:
        """The company's stored books."""
        return self._books

    def api_calls(self) -> list[LoggedCall]:
        """Every accounting API request received so far (including refused ones)."""
        with self.lock:
            return list(self.calls)

    def inject(self, kind: str, **options: Any) -> Fault:
        """Add a :class:`Fault` (see :mod:`.faults`) and return it."""
        return self.faults.add(Fault(kind, **options))

    def forget_request_ids(self) -> None:
        """What Intuit does after a while it does not promise: requestids are forgotten."""
        with self.lock:
            self._request_ids.clear()

    def revoke_access_tokens(self) -> None:
        """Every access token stops working (the client must refresh)."""
        with self.lock:
            self._access.clear()

    def settings_for(self, url: str, **overrides: Any) -> dict[str, Any]:
        """Connection settings (for ``QuickBooksSettings``) that point at this sandbox."""
        return {"base_url": url + API_PREFIX, "token_url": url + "/oauth2/v1/tokens/bearer",
                "authorize_url": url + "/connect/oauth2", "client_id": self.client_id,
                "client_secret": self.client_secret, "deposit_account_id": "35",
                "webhook_verifier_token": self.verifier_token,
                "tax_codes": {"20": "5", "5": "6", "0": "7"}, **overrides}

    def webhook(self, *, only_new: bool = True, token: str | None = None) -> tuple[bytes, str]:
        """A webhook body for the changes not yet notified (or all) and its signature."""
        with self.lock:
            changes = self._books.changes[self._notified if only_new else 0:]
            self._notified = len(self._books.changes)
        entities = [{"name": e, "id": i, "operation": op,
                     "lastUpdated": when.isoformat().replace("+00:00", "Z")}
                    for e, i, op, when in changes]
        body = json.dumps({"eventNotifications": [{
            "realmId": self.realm_id, "dataChangeEvent": {"entities": entities}}]}).encode()
        digest = hmac.new((token or self.verifier_token).encode(), body, hashlib.sha256).digest()
        return body, base64.b64encode(digest).decode()

    def skip_notifications(self) -> None:
        """Never send the webhooks of the changes so far (Intuit's delivery gave up)."""
        with self.lock:
            self._notified = len(self._books.changes)

    # ------------------------------------------------------------------------------ serving
    @contextlib.contextmanager
    def serve(self) -> Iterator[str]:
        """Run the app on 127.0.0.1 (a free port) in a thread; yields its URL."""
        from hub.testing import SandboxServer

        with SandboxServer(self) as server:
            yield server.url

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        raw = b"".join(chunks)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        query = dict(parse_qsl(scope.get("query_string", b"").decode(), keep_blank_values=True))
        path = scope["path"]
        if path == "/connect/oauth2":
            return await self._authorize(send, query)
        if path == "/oauth2/v1/tokens/bearer":
            return await self._token(send, headers, raw)
        prefix = f"{API_PREFIX}/company/"
        if not path.startswith(prefix):
            return await self._send(send, 404, {"detail": "not found"})
        realm, _, rest = path[len(prefix):].partition("/")
        await self._accounting(send, scope["method"], realm, "/" + rest, query, headers, raw)

    async def _send(self, send: Any, status: int, body: Any, headers: dict | None = None,
                    payload: bytes | None = None) -> None:
        data = payload if payload is not None else exact_json.dumps(body)
        hdrs = {"content-type": "application/json;charset=UTF-8",
                "content-length": str(len(data)), **(headers or {})}
        await send({"type": "http.response.start", "status": status,
                    "headers": [(k.encode(), v.encode()) for k, v in hdrs.items()]})
        await send({"type": "http.response.body", "body": data})

    # ------------------------------------------------------------------------------ OAuth
    async def _authorize(self, send: Any, query: dict[str, str]) -> None:
        """Consent is given at once: redirect back with a code and the company."""
        if query.get("client_id") != self.client_id or query.get("response_type") != "code":
            return await self._send(send, 400, {"error": "invalid_client"})
        code = secrets.token_urlsafe(12)
        with self.lock:
            self._codes.add(code)
        target = query.get("redirect_uri", "")
        location = target + ("&" if "?" in target else "?") + urlencode(
            {"code": code, "state": query.get("state", ""), "realmId": self.realm_id})
        await self._send(send, 302, {}, {"location": location})

    async def _token(self, send: Any, headers: dict[str, str], raw: bytes) -> None:
        form = dict(parse_qsl(raw.decode()))
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        with self.lock:
            self.token_calls += 1
            if headers.get("authorization") != f"Basic {expected}":
                return await self._send(send, 401, {"error": "invalid_client"})
            grant = form.get("grant_type")
            if grant == "authorization_code" and form.get("code") in self._codes:
                self._codes.discard(form["code"])
            elif grant == "refresh_token" and form.get("refresh_token") in self._refresh:
                self._refresh.discard(form["refresh_token"])  # rotated: the old one is spent
            else:
                return await self._send(send, 400, {"error": "invalid_grant"})
            access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
            self._access[access] = self.clock.seconds() + ACCESS_SECONDS
            self._refresh.add(refresh)
        await self._send(send, 200, {"access_token": access, "refresh_token": refresh,
                                     "token_type": "bearer", "expires_in": ACCESS_SECONDS,
                                     "x_refresh_token_expires_in": 8_640_000})

    # ------------------------------------------------------------------------------ accounting
    def _log(self, call: LoggedCall) -> None:
        with self.lock:
            self.calls.append(call)

    def _check(self, method: str, path: str, query: dict[str, str], body: Any) -> list[str]:
        problems = []
        version = query.get("minorversion", "")
        if not version.isdigit() or int(version) < MIN_MINOR_VERSION:
            problems.append(f"minorversion must be {MIN_MINOR_VERSION} or later, "
                            f"not {version or 'missing'}")
        limit = 36 if path == "/batch" else 50
        if len(query.get("requestid", "")) > limit:
            problems.append(f"requestid is over {limit} characters")
        if method == "POST" and self.checker is not None:
            if path == "/batch":
                problems += self.checker.batch_errors(body)
            elif path.strip("/") in ENTITY_PATHS:
                problems += self.checker.entity_errors(ENTITY_PATHS[path.strip("/")], body,
                                                       query.get("operation", "create"))
        return problems

    async def _accounting(self, send: Any, method: str, realm: str, path: str,
                          query: dict[str, str], headers: dict[str, str], raw: bytes) -> None:
        token = headers.get("authorization", "")[7:]
        with self.lock:
            valid = self._access.get(token, 0) > self.clock.seconds()
        if not valid:
            self._log(LoggedCall(method, path, query, 401))
            return await self._send(send, 401, _fault("3200", "message=AuthenticationFailed; "
                                                      "errorCode=003200; statusCode=401",
                                                      "Token expired or invalid",
                                                      "AUTHENTICATION"))
        if realm != self.realm_id:
            self._log(LoggedCall(method, path, query, 403))
            return await self._send(send, 403, _fault("3100", "message=ApplicationAuthorizationFailed",
                                                      f"no access to company {realm}",
                                                      "AUTHORIZATION"))
        wait = self.limiter.acquire(realm, batch=path == "/batch")
        if wait is not None:
            self._log(LoggedCall(method, path, query, 429, fault="throttle"))
            return await self._send(send, 429, _fault("3001", "message=ThrottleExceeded; "
                                                      "errorCode=003001; statusCode=429",
                                                      "The request limit was reached.",
                                                      "SERVICE"), {"retry-after": str(wait)})
        fault = self.faults.take(method, path)
        if fault and not fault.after:
            if fault.kind == "status":
                self._log(LoggedCall(method, path, query, fault.status, fault="status"))
                return await self._send(send, fault.status, _fault(
                    "10000", "An application error has occurred", "injected", "SystemFault"))
            if fault.kind == "rate":
                self._log(LoggedCall(method, path, query, 429, fault="rate"))
                return await self._send(send, 429, _fault("3001", "ThrottleExceeded", "injected",
                                                          "SERVICE"),
                                        {"retry-after": str(max(1, int(fault.seconds)))})
            if fault.kind == "slow":
                await asyncio.sleep(fault.seconds)
            if fault.kind == "drop":
                return await self._drop(send, LoggedCall(method, path, query, 0, fault="drop"))
        try:
            body = exact_json.loads(raw) if raw else None
        except ValueError as exc:
            body, problems = None, [f"body is not JSON: {exc}"]
        else:
            problems = self._check(method, path, query, body)
        if problems:
            with self.lock:
                self.schema_violations.append((method, path, problems))
            self._log(LoggedCall(method, path, query, 400, fault="schema"))
            return await self._send(send, 400, _fault(
                "2010", "Request has invalid or unsupported property", "; ".join(problems)))
        items = len((body or {}).get("BatchItemRequest") or []) if path == "/batch" else 1
        request_id = query.get("requestid")
        fingerprint = f"{method} {path} {query.get('operation', '')}"
        with self.lock:
            seen = self._request_ids.get(request_id) if request_id else None
            if seen is None:
                status, result = dispatch(self._books, method, path, query, body)
                data = exact_json.dumps(result)
                if request_id and method == "POST" and status < 500 \
                        and self.remember_request_ids:
                    self._request_ids[request_id] = (fingerprint, status, data)
        if seen is not None:
            self._log(LoggedCall(method, path, query, seen[1], items, replayed=True))
            return await self._send(send, seen[1], None, payload=seen[2])
        if fault and fault.after:
            if fault.kind == "slow":
                await asyncio.sleep(fault.seconds)
            elif fault.kind == "drop":
                return await self._drop(send, LoggedCall(method, path, query, 0, items,
                                                         fault="drop-after"))
        self._log(LoggedCall(method, path, query, status, items,
                             fault=fault.kind if fault else None))
        await self._send(send, status, None, payload=data)

    async def _drop(self, send: Any, logged: LoggedCall) -> None:
        """Start an answer, then fail: the server closes the connection half-way."""
        self._log(logged)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", b"1000")]})
        raise _Dropped("connection dropped on purpose by the QuickBooks sandbox")
