"""Settings of a ``ninjaone`` connection (the ``settings`` table of its ``[[connections]]``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr

__all__ = ["NinjaOneSettings"]


class NinjaOneSettings(BaseModel):
    """How to reach one NinjaOne instance with an API client (client-credentials grant)."""

    # defer_build: validated only when a connection of this type is built, so the
    # validator is made then, not at every `hub` start (issue #21)
    model_config = ConfigDict(extra="forbid", defer_build=True)

    base_url: str = Field("https://app.ninjarmm.com",
                          description="instance URL, e.g. https://eu.ninjarmm.com")
    client_id: str = Field(description="API client id (Administration > Apps > API)")
    client_secret: SecretStr = Field(description="API client secret; use { env = \"NAME\" }")
    scope: str = Field("monitoring", description="OAuth scope the client was granted")
    page_size: int = Field(1000, ge=1, le=1000, description="devices/organisations per request")
    requests_per_minute: int = Field(300, ge=1, description="client-side rate limit")
    timeout_seconds: float = Field(30.0, gt=0, description="per-request timeout")
    count_live: bool = Field(False, description="answer asset counters from NinjaOne itself "
                             "instead of the hub's stored devices "
                             "(see hub.sources.stored_counters)")
