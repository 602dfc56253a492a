"""Settings of a ``plugin = "xero"`` connection (the ``settings`` table of hub.toml).

Example::

    [[connections]]
    name = "xero"
    plugin = "xero"
    [connections.settings]
    client_id = "ABC..."
    client_secret = {env = "XERO_CLIENT_SECRET"}
    redirect_uri = "https://hub.example.com/plugins/xero/callback"
    invoice_status = "AUTHORISED"
    default_account_code = "200"
    [connections.settings.products.M365-BP]
    item_code = "M365BP"
    account_code = "210"
    tax_type = "OUTPUT2"
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

__all__ = ["XeroSettings", "ProductMapping", "XERO_API_URL", "XERO_IDENTITY_URL",
           "XERO_AUTHORIZE_URL", "MAX_BATCH"]

XERO_API_URL = "https://api.xero.com/api.xro/2.0"
XERO_IDENTITY_URL = "https://identity.xero.com"
XERO_AUTHORIZE_URL = "https://login.xero.com/identity/connect/authorize"
#: Xero's recommended bundle size for create/update requests.
MAX_BATCH = 50
DEFAULT_SCOPES = ("openid profile email offline_access accounting.transactions "
                  "accounting.contacts accounting.settings.read")


class ProductMapping(BaseModel):
    """How one hub product code appears on a Xero line."""

    # defer_build: validated only when a connection of this type is built, so the
    # validator is made then, not at every `hub` start (issue #21)
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    item_code: str | None = Field(None, description="Xero item code (ItemCode)")
    account_code: str | None = Field(None, description="revenue account code for this product")
    tax_type: str | None = Field(None, description="Xero tax type, e.g. OUTPUT2")


class XeroSettings(BaseModel):
    """A Xero connection: OAuth2 app credentials, target organisation and line mappings."""

    # defer_build: validated only when a connection of this type is built, so the
    # validator is made then, not at every `hub` start (issue #21)
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    base_url: str = Field(XERO_API_URL, description="Accounting API root")
    identity_url: str = Field(XERO_IDENTITY_URL, description="OAuth2 token server root")
    authorize_url: str = Field(XERO_AUTHORIZE_URL, description="OAuth2 consent page")
    connections_url: str | None = Field(
        None, description="tenant list; defaults to <base_url host>/connections")
    client_id: str
    client_secret: SecretStr
    redirect_uri: str = Field("http://localhost:8765/plugins/xero/callback",
                              description="the hub's OAuth callback, as registered at Xero "
                                          "(default: the port `hub serve` listens on)")
    scopes: str = DEFAULT_SCOPES
    tenant_id: str | None = Field(
        None, description="Xero organisation to use; when unset the only connected one is used")
    webhook_key: SecretStr | None = Field(None, description="Xero webhook signing key")
    invoice_status: Literal["DRAFT", "AUTHORISED"] = "AUTHORISED"
    products: dict[str, ProductMapping] = Field(
        default_factory=dict, description="hub product code -> item/account/tax mapping")
    tax_types: dict[str, str] = Field(
        default_factory=dict, description="tax rate percentage ('20') -> Xero tax type")
    default_account_code: str = "200"
    default_tax_type: str | None = None
    payment_account_code: str = Field("090", description="bank account payments are paid into")
    contact_number_prefix: str = Field("HUB-", max_length=20)
    batch_size: int = Field(MAX_BATCH, ge=1, le=MAX_BATCH)
    timeout_seconds: float = Field(30.0, gt=0, description="per-request HTTP timeout")
    max_inline_wait_seconds: float = Field(
        65.0, ge=0, description="wait this long for a rate-limit window inside one call; "
                                "longer waits are handed back to the job as retry_after")
    refresh_margin_seconds: int = Field(120, ge=0, description="refresh tokens this early")

    def connections_endpoint(self) -> str:
        """The /connections URL (tenant list) for this connection."""
        if self.connections_url:
            return self.connections_url
        import httpx

        return str(httpx.URL(self.base_url).copy_with(path="/connections", query=None))
