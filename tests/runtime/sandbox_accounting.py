"""A generic sandbox accounting server and a throwaway plugin that pushes invoices to it.

The server stores invoices by number (a push of a number it already has returns the existing
record, as an idempotency key would at a real vendor), so "exactly once" can be checked by
listing what it holds. It fails a configurable share of calls the ways real vendors do:

- ``500`` before doing anything;
- ``429`` with ``Retry-After`` before doing anything;
- a *timeout*: the invoices are stored, then the answer is held back past the client's timeout;
- a *dropped connection*: the invoices are stored, then the connection is cut mid-answer.

The last two leave the client not knowing whether its push worked, which is what makes
de-duplication necessary.

The plugin (this module, registered with ``build_plugin_host([("sandbox_accounting", module)])``)
provides connection type ``sandbox_accounting`` and ``hub_push_invoices`` over httpx.
"""

from __future__ import annotations

import asyncio
import random
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Sequence

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from hub import (
    Connection, ConnectionType, InvoiceDoc, PushOutcome, PushStatus, TransientError, hookimpl,
    owns,
)

PLUGIN = "sandbox_accounting"


# ------------------------------------------------------------------------------ the server
@dataclass
class FaultPlan:
    """Share of calls that fail, and how they are split among the four kinds."""

    failure_rate: float = 0.0
    kinds: tuple[str, ...] = ("500", "429", "timeout", "drop")
    retry_after: float = 0.05
    hold_seconds: float = 1.0
    seed: int = 7
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def draw(self) -> str | None:
        if self.rng.random() < self.failure_rate:
            return self.rng.choice(self.kinds)
        return None


class SandboxLedger:
    """What the sandbox holds: every invoice it created (a number twice would be a duplicate
    the hub caused), de-duplicated only by the client's idempotency key, as at a real vendor."""

    def __init__(self) -> None:
        self.created: list[dict] = []
        self.by_key: dict[str, dict] = {}
        self.calls = 0
        self.faults: dict[str, int] = {}
        self.lock = threading.Lock()

    @property
    def invoices(self) -> dict[str, dict]:
        """Created invoices by number (see :meth:`numbers` for duplicates)."""
        return {record["number"]: record for record in self.created}

    def numbers(self) -> list[str]:
        """Every created invoice's number, duplicates included."""
        return [record["number"] for record in self.created]

    def store(self, invoice: dict) -> dict:
        with self.lock:
            key = invoice.get("idempotency_key")
            if key and key in self.by_key:
                return self.by_key[key]
            record = {"id": f"INV-{len(self.created) + 1:06d}", **invoice}
            self.created.append(record)
            if key:
                self.by_key[key] = record
            return record


DROP_HEADER = b"x-sandbox-drop"


class _DropConnection:
    """ASGI wrapper: lets the app store the invoices, then cuts the connection mid-answer."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        dropping = False

        async def cut(message):
            nonlocal dropping
            if message["type"] == "http.response.start":
                dropping = (DROP_HEADER, b"1") in message.get("headers", [])
            if dropping and message["type"] == "http.response.body":
                raise ConnectionAbortedError("sandbox drops this connection on purpose")
            await send(message)

        return await self.app(scope, receive, cut)


def create_sandbox_app(plan: FaultPlan | None = None,
                       ledger: SandboxLedger | None = None) -> tuple[object, SandboxLedger]:
    """The sandbox ASGI app and the ledger it writes to."""
    plan = plan or FaultPlan()
    ledger = ledger or SandboxLedger()
    app = FastAPI()

    @app.post("/invoices")
    async def create_invoices(request: Request):
        body = await request.json()
        fault = plan.draw()
        with ledger.lock:
            ledger.calls += 1
            if fault:
                ledger.faults[fault] = ledger.faults.get(fault, 0) + 1
        if fault == "500":
            return JSONResponse({"error": "internal error"}, status_code=500)
        if fault == "429":
            return JSONResponse({"error": "rate limited"}, status_code=429,
                                headers={"Retry-After": str(plan.retry_after)})
        results = []
        for invoice in body["invoices"]:
            if Decimal(invoice["total"]) < 0 or invoice["number"].startswith("BAD"):
                results.append({"number": invoice["number"], "error": "Total must not be negative"
                                if Decimal(invoice["total"]) < 0 else "Number is not allowed"})
                continue
            record = ledger.store(invoice)
            results.append({"number": invoice["number"], "id": record["id"]})
        if fault == "timeout":
            await asyncio.sleep(plan.hold_seconds)
        return JSONResponse({"invoices": results},
                            headers={DROP_HEADER.decode(): "1"} if fault == "drop" else None)

    @app.get("/invoices")
    async def list_invoices():
        with ledger.lock:
            return {"invoices": list(ledger.created)}

    return _DropConnection(app), ledger


# ------------------------------------------------------------------------------ the plugin
class SandboxSettings(BaseModel):
    """Where the sandbox listens and how long to wait for it."""

    model_config = ConfigDict(extra="forbid")
    base_url: str
    timeout_seconds: float = 0.5


@hookimpl
def hub_register_connection_types(register):
    register(ConnectionType(name=PLUGIN, settings_model=SandboxSettings,
                            capabilities=frozenset({"accounting"}),
                            description="test sandbox accounting server"))


_clients: dict[str, httpx.Client] = {}
_clients_lock = threading.Lock()


def _client(base_url: str) -> httpx.Client:
    """One pooled client per sandbox (building one per call costs an SSL context each time)."""
    with _clients_lock:
        if base_url not in _clients:
            _clients[base_url] = httpx.Client(base_url=base_url)
        return _clients[base_url]


@hookimpl
def hub_push_invoices(connection: Connection, invoices: Sequence[InvoiceDoc]):
    if not owns(connection, PLUGIN):
        return None
    settings: SandboxSettings = connection.settings  # type: ignore[assignment]
    # The key is stable per hub document, so a retry after an unknown outcome (timeout,
    # dropped connection) finds the invoice created by the earlier attempt.
    payload = {"invoices": [{"number": doc.number, "hub_id": doc.id,
                             "idempotency_key": f"hub-invoice-{doc.id}",
                             "total": str(doc.total.amount), "currency": doc.currency}
                            for doc in invoices]}
    try:
        response = _client(settings.base_url).post("/invoices", json=payload,
                                                   timeout=settings.timeout_seconds)
    except httpx.TransportError as exc:  # timeouts and dropped connections: outcome unknown
        raise TransientError(f"sandbox unreachable: {type(exc).__name__}") from None
    if response.status_code == 429:
        raise TransientError("sandbox rate limit",
                             retry_after=float(response.headers.get("Retry-After", "1")))
    if response.status_code >= 500:
        raise TransientError(f"sandbox answered {response.status_code}")
    response.raise_for_status()
    by_number = {item["number"]: item for item in response.json()["invoices"]}
    outcomes = []
    for doc in invoices:
        item = by_number[doc.number]
        if "error" in item:
            outcomes.append(PushOutcome(document_id=doc.id, status=PushStatus.rejected,
                                        message=item["error"]))
        else:
            outcomes.append(PushOutcome(document_id=doc.id, status=PushStatus.synced,
                                        external_id=item["id"]))
    return outcomes


LOCKED: list = []


@hookimpl
def hub_lock_synced_documents(connection, documents):
    if owns(connection, PLUGIN):
        LOCKED.extend(documents)
