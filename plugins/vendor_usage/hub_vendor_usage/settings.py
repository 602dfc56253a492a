"""Settings of the ``pax8`` and ``csv_usage`` connection types."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr

__all__ = ["Pax8Settings", "CsvColumns", "CsvUsageSettings"]


class Pax8Settings(BaseModel):
    """How to reach Pax8's partner API with a client-credentials app."""

    # defer_build: validated only when a connection of this type is built, so the
    # validator is made then, not at every `hub` start (issue #21)
    model_config = ConfigDict(extra="forbid", defer_build=True)

    base_url: str = Field("https://api.pax8.com", description="API host (paths start /v1)")
    client_id: str = Field(description="Pax8 API app client id")
    client_secret: SecretStr = Field(description="Pax8 API app secret; use { env = \"NAME\" }")
    audience: str = Field("https://api.pax8.com", description="token audience")
    page_size: int = Field(200, ge=1, le=200, description="records per page (max 200)")
    requests_per_minute: int = Field(600, ge=1, description="client-side rate limit")
    timeout_seconds: float = Field(30.0, gt=0, description="per-request timeout")
    sku_map: dict[str, str] = Field(
        default_factory=dict,
        description="Pax8 productId -> the SKU your vendor-usage lines bill; an unmapped "
                    "product keeps its productId as SKU (never dropped)")
    usage_lines: bool = Field(True, description="also pull daily usage lines of usage-based "
                                                "subscriptions (one call per summary and day)")
    count_live: bool = Field(False, description="answer vendor-usage counters from Pax8 itself "
                             "instead of the hub's stored usage snapshots")


class CsvColumns(BaseModel):
    """Which CSV column holds each field (header names, as the vendor's export spells them)."""

    # defer_build: validated only when a connection of this type is built, so the
    # validator is made then, not at every `hub` start (issue #21)
    model_config = ConfigDict(extra="forbid", defer_build=True)

    tenant: str = Field(description="the vendor's customer/tenant id")
    sku: str = Field(description="product or SKU code")
    quantity: str = Field(description="licence count or usage quantity")
    period: str | None = Field(None, description="billing month (YYYY-MM) or date (YYYY-MM-DD); "
                                                 "None: every row is for the pulled period")
    description: str | None = Field(None, description="product name shown on provenance")


class CsvUsageSettings(BaseModel):
    """A vendor without an API: its usage export file and how to read it."""

    # defer_build: validated only when a connection of this type is built, so the
    # validator is made then, not at every `hub` start (issue #21)
    model_config = ConfigDict(extra="forbid", defer_build=True)

    vendor: str = Field(description="vendor name, e.g. 'Acronis'")
    path: Path = Field(description="CSV file (re-read on every pull)")
    columns: CsvColumns
    delimiter: str = Field(",", min_length=1, max_length=1)
    encoding: str = Field("utf-8-sig", description="file encoding (utf-8-sig skips a BOM)")
