"""Settings of a ``plugin = "quickbooks"`` connection (the ``settings`` table of hub.toml).

Example::

    [[connections]]
    name = "qbo"
    plugin = "quickbooks"
    [connections.settings]
    client_id = "ABC..."
    client_secret = {env = "QBO_CLIENT_SECRET"}
    redirect_uri = "https://hub.example.com/plugins/quickbooks/callback"
    webhook_verifier_token = {env = "QBO_WEBHOOK_TOKEN"}
    default_item_id = "1"                  # the "Services" item lines are booked on
    deposit_account_id = "35"              # the bank account payments are paid into
    tax_codes = {"20" = "5", "0" = "9"}    # hub tax rate % -> QuickBooks TaxCode Id
    [connections.settings.products.M365-BP]
    item_id = "12"
    tax_code = "5"
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr

__all__ = ["QuickBooksSettings", "ProductMapping", "QBO_API_URL", "QBO_TOKEN_URL",
           "QBO_AUTHORIZE_URL", "MAX_BATCH", "MINOR_VERSION"]

QBO_API_URL = "https://quickbooks.api.intuit.com/v3"
QBO_TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
QBO_AUTHORIZE_URL = "https://appcenter.intuit.com/connect/oauth2"
#: Payloads per batch request: Intuit's limits page allows 30 (its batch page says 10).
MAX_BATCH = 30
#: The API's minor version every call pins (75 is the oldest Intuit accepts since August 2025).
MINOR_VERSION = 75
DEFAULT_SCOPES = "com.intuit.quickbooks.accounting"


class ProductMapping(BaseModel):
    """How one hub product code appears on a QuickBooks line."""

    # defer_build: validated only when a connection of this type is built, so the
    # validator is made then, not at every `hub` start (issue #21)
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    item_id: str | None = Field(None, description="QuickBooks Item Id (ItemRef)")
    tax_code: str | None = Field(None, description="QuickBooks TaxCode Id for this product")


class QuickBooksSettings(BaseModel):
    """A QuickBooks Online connection: OAuth2 app credentials, company and line mappings."""

    # defer_build: validated only when a connection of this type is built, so the
    # validator is made then, not at every `hub` start (issue #21)
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    base_url: str = Field(QBO_API_URL, description="Accounting API root (…/v3)")
    token_url: str = Field(QBO_TOKEN_URL, description="OAuth2 token endpoint")
    authorize_url: str = Field(QBO_AUTHORIZE_URL, description="OAuth2 consent page")
    client_id: str
    client_secret: SecretStr
    redirect_uri: str = Field("http://localhost:8000/plugins/quickbooks/callback",
                              description="the hub's OAuth callback, as registered at Intuit")
    scopes: str = DEFAULT_SCOPES
    realm_id: str | None = Field(None, description="company (realm) id; set by the consent")
    minor_version: int = Field(MINOR_VERSION, ge=75, description="pinned API minor version")
    webhook_verifier_token: SecretStr | None = Field(
        None, description="verifier token of the app's webhooks (signs intuit-signature)")
    default_item_id: str = Field("1", description="Item Id of lines without a product mapping")
    deposit_account_id: str | None = Field(
        None, description="Account Id payments are deposited to (Undeposited Funds if unset)")
    products: dict[str, ProductMapping] = Field(
        default_factory=dict, description="hub product code -> item/tax code mapping")
    tax_codes: dict[str, str] = Field(
        default_factory=dict, description="hub tax rate percentage ('20') -> TaxCode Id")
    customer_number_prefix: str = Field("HUB-", max_length=10,
                                        description="AcctNum prefix tying customers to the hub")
    batch_size: int = Field(MAX_BATCH, ge=1, le=MAX_BATCH)
    timeout_seconds: float = Field(30.0, gt=0, description="per-request HTTP timeout")
    max_inline_wait_seconds: float = Field(
        65.0, ge=0, description="wait this long for a throttled request inside one call; "
                                "longer waits are handed back to the job as retry_after")
    refresh_margin_seconds: int = Field(300, ge=0, description="refresh tokens this early")
