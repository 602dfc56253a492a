"""Settings of an ``autotask`` connection."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

__all__ = ["AutotaskSettings", "DEFAULT_TICKET_STATUSES", "ZONE_LOOKUP_URL"]

#: Autotask's zone directory: any zone answers ``ZoneInformation``; this one is the documented one.
ZONE_LOOKUP_URL = "https://webservices.autotask.net/ATServicesRest"

#: Autotask's default ticket status picklist (Admin > Features & Settings > Tickets > Status).
DEFAULT_TICKET_STATUSES = {
    "1": "New", "5": "Complete", "7": "Waiting Customer", "8": "In Progress",
    "9": "Waiting Materials", "10": "Dispatched", "11": "Escalate", "12": "Waiting Vendor",
    "13": "Waiting Approval", "15": "Change Order", "16": "Customer Note Added",
}


class AutotaskSettings(BaseModel):
    """How to reach one Autotask database with an API-only user."""

    # defer_build: validated only when a connection of this type is built, so the
    # validator is made then, not at every `hub` start (issue #21)
    model_config = ConfigDict(extra="forbid", defer_build=True)

    base_url: str | None = Field(
        None, description="zone URL up to ATServicesRest, e.g. "
                          "https://webservices5.autotask.net/ATServicesRest; leave it out and the "
                          "zone is looked up from `username` (GET /V1.0/ZoneInformation?user=)")
    zone_lookup_url: str = Field(ZONE_LOOKUP_URL,
                                 description="where the zone of `username` is looked up")
    username: str = Field(description="API user's UserName")
    secret: SecretStr = Field(description="API user's Secret; use { env = \"NAME\" }")
    integration_code: SecretStr = Field(description="ApiIntegrationcode of the integration")
    page_size: int = Field(500, ge=1, le=500, description="MaxRecords per query (max 500)")
    requests_per_minute: int = Field(150, ge=1, description="calls per minute at most")
    requests_per_hour: int = Field(10_000, ge=1, description="Autotask's budget per database "
                                   "(10,000 calls an hour, shared by every integration)")
    concurrent_requests: int = Field(3, ge=1, description="calls in flight at once")
    budget_account: str | None = Field(
        None, description="connections to the same Autotask database share one budget: give "
                          "them the same value (default: the API user name)")
    timeout_seconds: float = Field(30.0, gt=0, description="per-request timeout")
    ticket_statuses: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_TICKET_STATUSES),
        description="status picklist value -> label, as configured in your Autotask")
    contact_udf_attributes: dict[str, str] = Field(
        default_factory=dict,
        description="contact attribute -> Autotask user-defined field name, e.g. "
                    "{ remote_access = \"Remote Access\" } for user counters")
    hourly_rate: Decimal | None = Field(None, description="rate for ticket charges made from "
                                        "time entries (None: price from the product)")
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$", description="currency of hourly_rate")
    count_live: bool = Field(False, description="answer user counters from Autotask itself "
                             "instead of the hub's stored contacts")
