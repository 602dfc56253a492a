"""Settings of a ``plugin = "stripe"`` connection (``[[connections]]`` in hub.toml).

Secrets are referenced, never written in the file::

    [[connections]]
    name = "stripe"
    plugin = "stripe"
    [connections.settings]
    api_key = { env = "STRIPE_API_KEY" }
    webhook_secret = { env = "STRIPE_WEBHOOK_SECRET" }
    # api_base = "http://127.0.0.1:12111"   # the local sandbox instead of api.stripe.com
    [connections.settings.dunning]
    retry_days = [3, 5, 7]
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

__all__ = ["StripeSettings", "DunningSettings", "DEFAULT_API_BASE", "DEFAULT_TOLERANCE_SECONDS"]

DEFAULT_API_BASE = "https://api.stripe.com"
#: Stripe's own default: a signature older than five minutes is a replay, not a delivery.
DEFAULT_TOLERANCE_SECONDS = 300


class DunningSettings(BaseModel):
    """When a declined auto-charge is tried again (Stripe Billing's "smart retries" by hand).

    ``retry_days[n]`` is the wait after failed attempt ``n + 1``; when the list is shorter than
    ``max_attempts - 1`` its last value repeats. After ``max_attempts`` attempts we stop and the
    invoice waits for a person (a new card, a manual payment).
    """

    # defer_build: validated only when a connection of this type is built, so the
    # validator is made then, not at every `hub` start (issue #21)
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    retry_days: tuple[int, ...] = Field((3, 5, 7), description="days to wait after each failed attempt")
    max_attempts: int = Field(4, ge=1, le=20, description="attempts in total, the first included")

    @field_validator("retry_days")
    @classmethod
    def _positive(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value:
            raise ValueError("give at least one waiting time, e.g. [3, 5, 7]")
        if any(days < 1 for days in value):
            raise ValueError("each waiting time is a whole number of days, at least 1")
        return value


class StripeSettings(BaseModel):
    """One Stripe account as the hub uses it."""

    # defer_build: validated only when a connection of this type is built, so the
    # validator is made then, not at every `hub` start (issue #21)
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    api_key: SecretStr = Field(
        description="secret key (sk_live_... or sk_test_...); reference it with {env = ...}")
    webhook_secret: SecretStr = Field(
        description="the webhook endpoint's signing secret (whsec_...)")
    api_base: str = Field(
        DEFAULT_API_BASE, description="API address; the local sandbox in tests and demos")
    webhook_tolerance_seconds: int = Field(
        DEFAULT_TOLERANCE_SECONDS, ge=1, le=24 * 3600,
        description="oldest Stripe-Signature timestamp accepted, in seconds")
    max_network_retries: int = Field(
        0, ge=0, le=5,
        description="retries inside one call; 0 leaves retrying to the hub's jobs (same idempotency key)")
    timeout_seconds: float = Field(30.0, gt=0, description="HTTP timeout per request")
    statement_descriptor_suffix: str | None = Field(
        None, max_length=22, description="shown on the card statement after the account's prefix")
    dunning: DunningSettings = Field(default_factory=DunningSettings)

    @field_validator("api_base")
    @classmethod
    def _base(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("api_base is a URL such as 'https://api.stripe.com'")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _keys_look_right(self) -> "StripeSettings":
        if not self.api_key.get_secret_value().strip():
            raise ValueError("api_key is empty: set it to the account's secret key (sk_...)")
        if not self.webhook_secret.get_secret_value().strip():
            raise ValueError("webhook_secret is empty: copy the endpoint's signing secret (whsec_...)")
        return self
