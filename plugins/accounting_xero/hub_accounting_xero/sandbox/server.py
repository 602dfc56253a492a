"""The Xero sandbox: a FastAPI app answering like Xero, plus a handle to run and inspect it.

Usage in a test::

    sandbox = XeroSandbox(scale=60)
    with sandbox.serve() as url:            # uvicorn on 127.0.0.1, in a thread
        settings = sandbox.settings_for(url)  # base_url/identity_url pointing at it
        ...
    sandbox.books().invoices                # what it stores
    assert not sandbox.schema_violations    # every request matched xero_accounting.yaml

Every accounting request goes through: bearer token -> tenant -> rate limits -> injected fault
-> OpenAPI check (a violation is a 400 *and* is recorded) -> Idempotency-Key replay -> handler
-> remembered for the key -> injected slowness or dropped connection -> Xero's limit headers.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Iterator
from urllib.parse import parse_qsl, urlencode

import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from hub import exact_json
from hub.testing.faults import Fault, Faults
from hub.testing.scaled_clock import ScaledClock

from hub_accounting_xero.sandbox.api import Call, dispatch
from hub_accounting_xero.sandbox.books import Books
from hub_accounting_xero.sandbox.identity import Identity
from hub_accounting_xero.sandbox.limits import Limits, RateLimiter
from hub_accounting_xero.sandbox.render import validation_exception
from hub_accounting_xero.sandbox.schema import load_checker

__all__ = ["XeroSandbox", "LoggedCall", "API_PREFIX"]

API_PREFIX = "/api.xro/2.0"
IDEMPOTENCY_SECONDS = 300  # Xero remembers keys for minutes only


@dataclass(frozen=True)
class LoggedCall:
    """One accounting request as the sandbox saw it."""

    method: str
    path: str
    query: dict[str, str]
    tenant: str | None
    status: int
    idempotency_key: str | None
    replayed: bool = False
    fault: str | None = None
    #: sandbox-clock seconds when the request arrived and when its answer was sent (so a test
    #: can check calls in flight and calls per window as Xero would count them)
    started: float = 0.0
    finished: float = 0.0


class _Dropped(Exception):
    """Raised after the response started, so the server drops the connection."""


class XeroSandbox:
    """A local Xero: identity server, /connections and the Accounting API endpoints used."""

    def __init__(self, *, scale: float = 1.0, limits: Limits | None = None,
                 client_id: str = "sandbox-client", client_secret: str = "sandbox-secret",
                 tenant_name: str = "Demo MSP Ltd", unique_numbers: bool = True,
                 validate: bool = True) -> None:
        # ``validate=False`` (the demo, on a machine without the shared specs folder) answers
        # without checking requests against xero_accounting.yaml; tests keep validating.
        self.clock = ScaledClock(scale)
        self.limiter = RateLimiter(self.clock, limits)
        self.identity = Identity(self.clock)
        self.identity.add_client(client_id, client_secret)
        self.client_id, self.client_secret = client_id, client_secret
        self.tenant = self.identity.add_tenant(tenant_name)
        self.unique_numbers = unique_numbers
        self._books: dict[str, Books] = {}
        self.faults = Faults()
        self.calls: list[LoggedCall] = []
        self.schema_violations: list[tuple[str, str, list[str]]] = []
        self._keys: dict[tuple[str, str], tuple[float, str, int, bytes]] = {}
        self.lock = threading.RLock()
        self.webhook_key = "sandbox-webhook-key"
        self.checker = load_checker() if validate else None
        self.app = self._build_app()

    # ------------------------------------------------------------------------------ inspection
    def books(self, tenant_id: str | None = None) -> Books:
        """The stored books of ``tenant_id`` (default: the first organisation)."""
        tenant_id = tenant_id or self.tenant.tenant_id
        with self.lock:
            if tenant_id not in self._books:
                self._books[tenant_id] = Books(self.clock.now, unique_numbers=self.unique_numbers)
            return self._books[tenant_id]

    def api_calls(self) -> list[LoggedCall]:
        """Every accounting API request received so far (including refused ones)."""
        with self.lock:
            return list(self.calls)

    def inject(self, kind: str, **options: Any) -> Fault:
        """Add a :class:`Fault` (see :mod:`.faults`) and return it."""
        return self.faults.add(Fault(kind, **options))

    def forget_idempotency_keys(self) -> None:
        """What Xero does a few minutes after a request: the keys are gone."""
        with self.lock:
            self._keys.clear()

    def webhook(self, events: list[dict[str, Any]], key: str | None = None) -> tuple[bytes, str]:
        """A webhook body for ``events`` and its ``x-xero-signature``."""
        body = json.dumps({"events": events, "firstEventSequence": 1,
                           "lastEventSequence": max(1, len(events)),
                           "entropy": "SANDBOXENTROPY"}).encode()
        digest = hmac.new((key or self.webhook_key).encode(), body, hashlib.sha256).digest()
        return body, base64.b64encode(digest).decode()

    def invoice_events(self, tenant_id: str | None = None) -> list[dict[str, Any]]:
        """Xero webhook events for every invoice change recorded so far."""
        tenant_id = tenant_id or self.tenant.tenant_id
        books = self.books(tenant_id)
        stamp = self.clock.now().replace(tzinfo=None).isoformat(timespec="milliseconds")
        return [{"resourceUrl": f"https://api.xero.com/api.xro/2.0/Invoices/{rid}",
                 "resourceId": rid, "eventDateUtc": stamp, "eventType": kind,
                 "eventCategory": category, "tenantId": tenant_id, "tenantType": "ORGANISATION"}
                for category, rid, kind in books.events if category == "INVOICE"]

    def settings_for(self, url: str, **overrides: Any) -> dict[str, Any]:
        """Connection settings (a dict for ``XeroSettings``) that point at this sandbox."""
        return {"base_url": url + API_PREFIX, "identity_url": url,
                "authorize_url": url + "/identity/connect/authorize",
                "client_id": self.client_id, "client_secret": self.client_secret,
                "webhook_key": self.webhook_key,
                "tax_types": {"20": "OUTPUT2", "5": "RROUTPUT", "0": "NONE"}, **overrides}

    # ------------------------------------------------------------------------------ serving
    @contextlib.contextmanager
    def serve(self) -> Iterator[str]:
        """Run the app with uvicorn on 127.0.0.1 (a free port) in a thread; yields its URL."""
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="critical", lifespan="off",
                                timeout_keep_alive=30)
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the Xero sandbox did not start within 10 s")
            time.sleep(0.01)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            sock.close()

    # ------------------------------------------------------------------------------ app
    def _build_app(self) -> FastAPI:
        app = FastAPI(title="Xero sandbox")
        sandbox = self

        @app.get("/identity/connect/authorize")
        def authorize(client_id: str, redirect_uri: str, state: str = "", response_type: str = "code",
                      scope: str = "") -> Response:
            """Consent is given at once: redirect back with a code."""
            if client_id not in sandbox.identity.clients or response_type != "code":
                return JSONResponse({"error": "unauthorized_client"}, status_code=400)
            code = sandbox.identity.issue_code(client_id, redirect_uri)
            sep = "&" if "?" in redirect_uri else "?"
            return RedirectResponse(redirect_uri + sep + urlencode({"code": code, "state": state}))

        @app.post("/connect/token")
        async def token(request: Request) -> Response:
            form = dict(parse_qsl((await request.body()).decode()))
            status, body = sandbox.identity.token(request.headers.get("authorization"), form)
            return JSONResponse(body, status_code=status)

        @app.get("/connections")
        def connections(request: Request) -> Response:
            client, problem = sandbox.identity.check_access(request.headers.get("authorization"))
            if client is None:
                return JSONResponse({"Title": "Unauthorized", "Status": 401, "Detail": problem},
                                    status_code=401)
            return JSONResponse(sandbox.identity.connections())

        app.mount(API_PREFIX, self._accounting)
        return app

    async def _drop(self, send: Any, logged: LoggedCall) -> None:
        """Start an answer, then fail: the server closes the connection half-way."""
        with self.lock:
            self.calls.append(logged)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", b"1000")]})
        raise _Dropped("connection dropped on purpose by the Xero sandbox")

    async def _accounting(self, scope: dict, receive: Any, send: Any) -> None:
        """Raw ASGI handler for the Accounting API (so it can drop connections)."""
        if scope["type"] != "http":
            return
        started = self.clock.seconds()
        path = scope["path"]
        if path.startswith(API_PREFIX):
            path = path[len(API_PREFIX):]
        path = path or "/"
        method = scope["method"]
        query = dict(parse_qsl(scope.get("query_string", b"").decode(), keep_blank_values=True))
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        raw = b"".join(chunks)
        key = headers.get("idempotency-key")
        tenant = headers.get("xero-tenant-id")

        async def answer(status: int, body: Any, extra: dict[str, str] | None = None,
                         *, fault: str | None = None, replayed: bool = False,
                         payload: bytes | None = None) -> None:
            data = payload if payload is not None else exact_json.dumps(body)
            hdrs = {"content-type": "application/json; charset=utf-8",
                    "content-length": str(len(data)), **(extra or {})}
            with self.lock:
                self.calls.append(LoggedCall(method, path, query, tenant, status, key,
                                             replayed, fault, started, self.clock.seconds()))
            await send({"type": "http.response.start", "status": status,
                        "headers": [(k.encode(), v.encode()) for k, v in hdrs.items()]})
            await send({"type": "http.response.body", "body": data})

        client, problem = self.identity.check_access(headers.get("authorization"))
        if client is None:
            return await answer(401, {"Type": None, "Title": "Unauthorized", "Status": 401,
                                      "Detail": problem},
                                {"www-authenticate": 'Bearer error="invalid_token"'})
        known = tenant in self.identity.tenants and self.identity.tenants[tenant].connected
        if not known:
            return await answer(403, {"Type": None, "Title": "Forbidden", "Status": 403,
                                      "Detail": "AuthenticationUnsuccessful"})
        refusal = self.limiter.acquire(tenant)
        if refusal is not None:
            return await answer(429, {"Title": "Too Many Requests", "Status": 429},
                                {**self.limiter.headers(tenant),
                                 "retry-after": str(refusal.retry_after),
                                 "x-rate-limit-problem": refusal.problem},
                                fault="limit:" + refusal.problem)
        try:
            limit_headers = self.limiter.headers(tenant)
            fault = self.faults.take(method, path)
            if fault and not fault.after:
                if fault.kind == "status":
                    return await answer(fault.status, {"Title": "Service Unavailable",
                                                       "Status": fault.status}, limit_headers,
                                        fault="status")
                if fault.kind == "rate":
                    return await answer(429, {"Title": "Too Many Requests", "Status": 429},
                                        {**limit_headers, "retry-after": str(max(1, int(fault.seconds))),
                                         "x-rate-limit-problem": "minute"}, fault="rate")
                if fault.kind == "slow":
                    await asyncio.sleep(fault.seconds)
                if fault.kind == "drop":
                    return await self._drop(send, LoggedCall(method, path, query, tenant, 0,
                                                             key, fault="drop"))
            problems = (self.checker.errors(method, path, query, headers, raw or None)
                        if self.checker is not None else [])
            if problems:
                with self.lock:
                    self.schema_violations.append((method, path, problems))
                return await answer(400, validation_exception(
                    message="Request does not match xero_accounting.yaml: " + "; ".join(problems)),
                    limit_headers)
            fingerprint = f"{method} {path}"
            now = self.clock.seconds()
            if key and method in ("PUT", "POST"):
                with self.lock:
                    for k in [k for k, v in self._keys.items() if v[0] <= now]:
                        del self._keys[k]
                    seen = self._keys.get((tenant, key))
                if seen is not None:
                    if seen[1] != fingerprint:
                        return await answer(400, validation_exception(
                            message="Idempotency-Key was already used for another request"),
                            limit_headers)
                    return await answer(seen[2], None, limit_headers, replayed=True,
                                        payload=seen[3])
            body = exact_json.loads(raw) if raw else None
            with self.lock:
                status, result = dispatch(self.books(tenant),
                                          Call(method, path, query, headers, body))
                data = exact_json.dumps(result)
                if key and method in ("PUT", "POST") and status < 500:
                    self._keys[(tenant, key)] = (now + IDEMPOTENCY_SECONDS, fingerprint,
                                                 status, data)
            if fault and fault.after:
                if fault.kind == "slow":
                    await asyncio.sleep(fault.seconds)
                elif fault.kind == "drop":
                    return await self._drop(send, LoggedCall(method, path, query, tenant, 0,
                                                             key, fault="drop-after"))
            await answer(status, None, limit_headers, payload=data,
                         fault=fault.kind if fault else None)
        finally:
            self.limiter.release(tenant)
