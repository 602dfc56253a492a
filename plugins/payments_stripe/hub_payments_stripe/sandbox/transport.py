"""HTTP plumbing for tests: reach an ASGI app (the sandbox) from a *synchronous* ``httpx.Client``,
as the ``stripe`` library is, and break the network on purpose."""

from __future__ import annotations

import asyncio
import threading
from typing import Callable

import httpx

__all__ = ["SyncASGITransport", "FaultyTransport"]


class SyncASGITransport(httpx.BaseTransport):
    """Serve an ASGI app in-process for a sync client: the app runs on an event loop in a
    daemon thread (so a test that forgets to close it cannot hang the interpreter)."""

    def __init__(self, app) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="stripe-sandbox-loop")
        self._thread.start()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()

        async def run():
            inner = httpx.Request(request.method, request.url, headers=request.headers,
                                  content=body)
            response = await self._inner.handle_async_request(inner)
            content = await response.aread()
            return response.status_code, response.headers, content

        status, headers, content = asyncio.run_coroutine_threadsafe(run(), self._loop).result()
        return httpx.Response(status, headers=headers, content=content, request=request)

    def close(self) -> None:
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)


class FaultyTransport(httpx.BaseTransport):
    """Wraps a transport; :meth:`drop_response` loses the answer of requests that DID reach the
    server (a worker dying, a timeout after Stripe acted), :meth:`refuse` fails before sending."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self._lock = threading.Lock()
        self._drop: list[Callable[[httpx.Request], bool]] = []
        self._refuse: list[Callable[[httpx.Request], bool]] = []

    def drop_response(self, when: Callable[[httpx.Request], bool] = lambda r: True) -> None:
        """The next request matching ``when`` is served, but its answer never arrives."""
        with self._lock:
            self._drop.append(when)

    def refuse(self, when: Callable[[httpx.Request], bool] = lambda r: True) -> None:
        """The next request matching ``when`` cannot connect."""
        with self._lock:
            self._refuse.append(when)

    def _take(self, rules: list, request: httpx.Request) -> bool:
        with self._lock:
            for rule in rules:
                if rule(request):
                    rules.remove(rule)
                    return True
        return False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self._take(self._refuse, request):
            raise httpx.ConnectError("connection refused (injected)", request=request)
        response = self.inner.handle_request(request)
        if self._take(self._drop, request):
            response.read()
            raise httpx.ReadTimeout("answer lost after the server acted (injected)", request=request)
        return response

    def close(self) -> None:
        self.inner.close()
