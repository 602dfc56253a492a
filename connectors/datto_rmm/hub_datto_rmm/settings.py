"""Settings of a ``datto_rmm`` connection."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr

__all__ = ["DattoRmmSettings"]


class DattoRmmSettings(BaseModel):
    """How to reach one Datto RMM platform with an API user's key and secret."""

    # defer_build: validated only when a connection of this type is built, so the
    # validator is made then, not at every `hub` start (issue #21)
    model_config = ConfigDict(extra="forbid", defer_build=True)

    base_url: str = Field("https://syrah-api.centrastage.net",
                          description="your platform's API URL (Setup > Global Settings > API)")
    api_key: str = Field(description="the API user's key")
    api_secret: SecretStr = Field(description="the API user's secret; use { env = \"NAME\" }")
    page_size: int = Field(250, ge=1, le=250, description="records per request (max 250)")
    requests_per_minute: int = Field(600, ge=1, description="client-side rate limit")
    timeout_seconds: float = Field(30.0, gt=0, description="per-request timeout")
