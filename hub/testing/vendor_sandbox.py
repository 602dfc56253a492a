"""Kit for vendor sandboxes: local FastAPI apps that answer like a vendor, for tests and demos.

Public API for plugins (next to :mod:`hub`). A connector's ``sandbox.py`` builds a FastAPI app
from the vendor's spec and calls :func:`install` to get, for free:

- **rate limits**: more than ``limit`` requests in ``window`` seconds are answered ``429`` with
  ``Retry-After``, as vendors do;
- **injectable failures**: ``control.fail_next(503, times=2)`` answers the next requests with that
  status; ``control.stall_next(seconds)`` holds a response long enough for the client to time out;
- **a request log**: ``control.requests`` lists ``(method, path, query)`` seen, so tests can check
  what the connector sent (paging parameters, filters, headers);

the pieces every token-guarded vendor sandbox repeats: :func:`vendor_errors` (answer
``HTTPException`` in the vendor's error body), :func:`read_form` (a form-encoded token request),
:func:`issue_token` and :func:`require_bearer` (the access tokens the sandbox handed out);
and :func:`serve` runs any app on ``127.0.0.1`` on a free port in a background thread (the test
kit's :class:`hub.testing.sandbox.SandboxServer`), so the connector talks real HTTP to it exactly
as to the vendor.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator
from urllib.parse import parse_qs

from fastapi import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

__all__ = ["SandboxControl", "install", "serve", "vendor_errors", "read_form", "issue_token",
           "require_bearer"]


@dataclass
class _Fault:
    status: int | None = None
    stall: float | None = None
    retry_after: float | None = None


@dataclass
class SandboxControl:
    """What a test can switch on in a running sandbox (see module docstring)."""

    limit: int | None = None
    window: float = 60.0
    retry_after: float = 1.0
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    #: how many requests the rate limit refused with 429
    refusals: int = 0
    headers_seen: list[dict[str, str]] = field(default_factory=list)
    #: ``(arrived, answered)`` monotonic seconds of every request, in arrival order
    times: list[tuple[float, float]] = field(default_factory=list)
    _faults: deque[_Fault] = field(default_factory=deque)
    _times: deque[float] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, status: int = 503, *, times: int = 1,
                  retry_after: float | None = None) -> None:
        """Answer the next ``times`` requests with ``status`` (e.g. 500, 503, 429, 400)."""
        with self._lock:
            self._faults.extend(_Fault(status=status, retry_after=retry_after)
                                for _ in range(times))

    def stall_next(self, seconds: float, *, times: int = 1) -> None:
        """Hold the next ``times`` responses for ``seconds`` (a client timeout)."""
        with self._lock:
            self._faults.extend(_Fault(stall=seconds) for _ in range(times))

    def _next_fault(self) -> _Fault | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def _over_limit(self) -> bool:
        if not self.limit:
            return False
        with self._lock:
            now = time.monotonic()
            while self._times and now - self._times[0] >= self.window:
                self._times.popleft()
            if len(self._times) >= self.limit:
                return True
            self._times.append(now)
            return False

    def count(self, path_prefix: str = "") -> int:
        """How many requests went to paths starting with ``path_prefix``."""
        return sum(1 for _, path, _ in self.requests if path.startswith(path_prefix))


def install(app: Any, control: SandboxControl | None = None) -> SandboxControl:
    """Add rate limiting, fault injection and the request log to a FastAPI/Starlette app."""
    control = control or SandboxControl()
    app.state.control = control

    @app.middleware("http")
    async def _sandbox_middleware(request: Request, call_next: Any) -> Response:
        arrived = time.monotonic()
        try:
            return await _handle(request, call_next)
        finally:
            control.times.append((arrived, time.monotonic()))

    async def _handle(request: Request, call_next: Any) -> Response:
        control.requests.append((request.method, request.url.path, dict(request.query_params)))
        control.headers_seen.append(dict(request.headers))
        fault = control._next_fault()
        if fault is not None and fault.stall:
            await asyncio.sleep(fault.stall)
        elif fault is not None and fault.status:
            headers = {}
            if fault.retry_after is not None or fault.status == 429:
                headers["Retry-After"] = str(int(fault.retry_after if fault.retry_after
                                                 is not None else control.retry_after))
            return JSONResponse({"message": f"injected failure {fault.status}"},
                                status_code=fault.status, headers=headers)
        if control._over_limit():
            control.refusals += 1
            return JSONResponse({"message": "Too Many Requests"}, status_code=429,
                                headers={"Retry-After": str(int(control.retry_after))})
        return await call_next(request)

    return control


def vendor_errors(app: Any, body: Callable[[Request, HTTPException], dict[str, Any]]) -> None:
    """Answer every ``HTTPException`` the app raises with ``body(request, exc)`` as JSON (the
    vendor's error shape) and the exception's status code."""

    async def _vendor_error(request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse(body(request, exc), status_code=exc.status_code)

    app.add_exception_handler(HTTPException, _vendor_error)


async def read_form(request: Request) -> dict[str, str]:
    """The fields of an ``application/x-www-form-urlencoded`` body (first value of each);
    parsed by hand so sandboxes need no multipart package."""
    return {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}


def issue_token(tokens: set[str]) -> str:
    """A new random access token, remembered in ``tokens`` (the sandbox's issued tokens)."""
    value = secrets.token_urlsafe(16)
    tokens.add(value)
    return value


def require_bearer(request: Request, tokens: set[str], detail: str) -> None:
    """Refuse the request with 401 ``detail`` unless it carries ``Authorization: Bearer <t>``
    with a token from ``tokens``."""
    header = request.headers.get("authorization", "")
    if not header.startswith("Bearer ") or header[7:] not in tokens:
        raise HTTPException(401, detail=detail)


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run ``app`` on a free local port in a thread (:class:`hub.testing.sandbox.SandboxServer`);
    yields its base URL."""
    from hub.testing.sandbox import SandboxServer

    with SandboxServer(app) as server:
        yield server.url
