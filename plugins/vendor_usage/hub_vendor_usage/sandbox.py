"""A local Pax8: ``/v1/token``, ``/v1/companies``, ``/v1/subscriptions``,
``/v1/subscriptions/{id}/usage-summaries`` and ``/v1/usage-summaries/{id}/usage-lines`` as in
``specs/pax8`` (``page``/``size`` paging up to 200, ``{"content", "page"}`` envelopes, the
``Error`` body on refusals), with rate limits and failures from :mod:`hub.testing.vendor_sandbox`.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import threading
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, HTTPException, Query, Request

from hub.testing.vendor_sandbox import SandboxControl, install, issue_token, require_bearer, vendor_errors

__all__ = ["Pax8Data", "generate", "create_app", "MAX_PAGE_SIZE", "uuid_for"]

MAX_PAGE_SIZE = 200
PRODUCTS = [("M365-BP", "Microsoft 365 Business Premium", "22.00"),
            ("M365-BS", "Microsoft 365 Business Standard", "12.50"),
            ("DEF-EP", "Microsoft Defender for Endpoint P1", "3.00")]
AZURE = ("AZURE-PLAN", "Azure plan")


def uuid_for(kind: int, number: int) -> str:
    """A stable UUID-shaped id: ``kind`` tells companies, products, subscriptions apart."""
    return f"{kind:08x}-0000-4000-8000-{number:012x}"


@dataclass
class Pax8Data:
    """Companies, subscriptions and usage the sandbox holds (keyed by id)."""

    client_id: str = "sandbox-client"
    client_secret: str = "sandbox-secret"
    companies: dict[str, dict[str, Any]] = field(default_factory=dict)
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: usage summary id -> summary (with its subscriptionId)
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: usage summary id -> usage lines (each with its usageDate)
    lines: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def product_ids(self) -> dict[str, str]:
        """SKU -> the sandbox's productId (for a connection's ``sku_map``, inverted)."""
        return {sku: uuid_for(2, i + 1) for i, (sku, _, _) in enumerate(PRODUCTS)} | \
            {AZURE[0]: uuid_for(2, 99)}


def generate(companies: int = 3, usage_month: dt.date | None = None) -> Pax8Data:
    """A deterministic world: each company holds 1-3 licence subscriptions; every third company
    also has an Azure plan with daily usage lines for the first days of ``usage_month``."""
    data = Pax8Data()
    sub_number = 0
    usage_month = usage_month or dt.date(2026, 11, 1)
    for c in range(1, companies + 1):
        company_id = uuid_for(1, c)
        data.companies[company_id] = {"id": company_id, "name": f"Company {c}",
                                      "address": {"street": f"{c} Main Street",
                                                  "city": "Greenwood Village",
                                                  "stateOrProvince": "CO", "postalCode": "80111",
                                                  "country": "US"},
                                      "phone": f"303-555-{c:04d}",
                                      "website": f"company{c}.example",
                                      "externalId": f"C{c:04d}",
                                      "status": "Active", "billOnBehalfOfEnabled": True,
                                      "selfServiceAllowed": False, "orderApprovalRequired": False,
                                      "updatedDate": "2026-10-01T00:00:00Z"}
        for p, (sku, name, cost) in enumerate(PRODUCTS[: 1 + c % 3]):
            sub_number += 1
            sub_id = uuid_for(3, sub_number)
            data.subscriptions[sub_id] = {
                "id": sub_id, "companyId": company_id, "productId": uuid_for(2, p + 1),
                "quantity": 3 + (c * 7 + p * 5) % 20, "startDate": "2026-01-01T00:00:00Z",
                "createdDate": "2025-12-20T00:00:00Z", "billingStart": "2026-01-01",
                "status": "Active", "price": float(cost) * 1.2, "partnerCost": float(cost),
                "currencyCode": "USD", "productName": name, "billingTerm": "Monthly"}
        if c % 3 == 0:
            sub_number += 1
            sub_id = uuid_for(3, sub_number)
            product = uuid_for(2, 99)
            data.subscriptions[sub_id] = {
                "id": sub_id, "companyId": company_id, "productId": product, "quantity": 1,
                "startDate": "2026-01-01T00:00:00Z", "status": "Active", "price": 0,
                "currencyCode": "USD", "productName": AZURE[1], "billingTerm": "Monthly"}
            summary_id = uuid_for(4, sub_number)
            data.summaries[summary_id] = {
                "id": summary_id, "companyId": company_id, "subscriptionId": sub_id,
                "productId": product, "resourceGroup": f"Company {c}", "vendorName": "Microsoft",
                "currentCharges": 0, "currencyCode": "USD", "partnerTotal": 0, "isTrial": False}
            data.lines[summary_id] = [
                {"usageSummaryId": summary_id,
                 "usageDate": (usage_month + dt.timedelta(days=d)).isoformat(),
                 "productName": "Azure Virtual Machines", "productId": product,
                 "unitOfMeasure": "Hour", "quantity": 24 - d, "currentCharges": 2.4,
                 "currentProfit": 0.4, "partnerTotal": 2.0, "unitPrice": 0.1,
                 "currencyCode": "USD", "isTrial": False}
                for d in range(3)]
    return data


def _envelope(items: list[dict[str, Any]], page: int, size: int) -> dict[str, Any]:
    chunk = items[page * size:(page + 1) * size]
    return {"content": chunk, "page": {"size": size, "totalElements": len(items),
                                       "totalPages": math.ceil(len(items) / size),
                                       "number": page}}


def create_app(data: Pax8Data, control: SandboxControl | None = None) -> FastAPI:
    """The sandbox app serving ``data``."""
    app = FastAPI(title="Pax8 sandbox")
    install(app, control)
    vendor_errors(app, lambda request, exc: {
        "type": "error", "message": str(exc.detail), "instance": request.url.path,
        "status": exc.status_code, "details": []})

    def authorise(request: Request) -> None:
        require_bearer(request, data.tokens, "Unauthorized")

    def paging(page: int, size: int) -> tuple[int, int]:
        if page < 0 or size < 1 or size > MAX_PAGE_SIZE:
            raise HTTPException(400, detail=f"size must be 1..{MAX_PAGE_SIZE}, page >= 0")
        return page, size

    @app.post("/v1/token")
    async def token(request: Request) -> dict[str, Any]:
        try:
            body = json.loads(await request.body())
        except ValueError:
            raise HTTPException(400, detail="body must be JSON") from None
        if body.get("grant_type") != "client_credentials" or "audience" not in body:
            raise HTTPException(400, detail="grant_type and audience are required")
        if body.get("client_id") != data.client_id or \
                body.get("client_secret") != data.client_secret:
            raise HTTPException(401, detail="Unauthorized")
        return {"access_token": issue_token(data.tokens), "expires_in": 86400, "token_type": "Bearer"}

    @app.get("/v1/companies")
    def companies(request: Request, page: int = Query(0), size: int = Query(10)
                  ) -> dict[str, Any]:
        authorise(request)
        page, size = paging(page, size)
        with data.lock:
            return _envelope(list(data.companies.values()), page, size)

    @app.get("/v1/subscriptions")
    def subscriptions(request: Request, page: int = Query(0), size: int = Query(10),
                      companyId: str | None = Query(None), status: str | None = Query(None),
                      productId: str | None = Query(None)) -> dict[str, Any]:
        authorise(request)
        page, size = paging(page, size)
        with data.lock:
            items = [s for s in data.subscriptions.values()
                     if (companyId is None or s["companyId"] == companyId)
                     and (status is None or s["status"] == status)
                     and (productId is None or s["productId"] == productId)]
        return _envelope(items, page, size)

    @app.get("/v1/subscriptions/{subscription_id}/usage-summaries")
    def usage_summaries(subscription_id: str, request: Request, page: int = Query(0),
                        size: int = Query(10)) -> dict[str, Any]:
        authorise(request)
        page, size = paging(page, size)
        with data.lock:
            if subscription_id not in data.subscriptions:
                raise HTTPException(404, detail="Invalid subscriptionId")
            items = [s for s in data.summaries.values()
                     if s["subscriptionId"] == subscription_id]
        return _envelope(items, page, size)

    @app.get("/v1/usage-summaries/{summary_id}/usage-lines")
    def usage_lines(summary_id: str, request: Request, usageDate: str = Query(...),
                    productId: str | None = Query(None)) -> dict[str, Any]:
        authorise(request)
        with data.lock:
            if summary_id not in data.summaries:
                raise HTTPException(404, detail="Invalid usage summary id")
            items = [line for line in data.lines.get(summary_id, [])
                     if line["usageDate"] == usageDate
                     and (productId is None or line["productId"] == productId)]
        return _envelope(items, 0, max(len(items), 1))

    return app


if __name__ == "__main__":  # pragma: no cover - manual demo: python -m hub_vendor_usage.sandbox
    import uvicorn

    uvicorn.run(create_app(generate(20)), host="127.0.0.1", port=8804)
