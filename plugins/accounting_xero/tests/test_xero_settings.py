"""Settings validation and registration through the plugin host."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest
from pydantic import ValidationError

from hub.host.plugins import build_plugin_host

from hub_accounting_xero.mapping import line_element
from hub_accounting_xero.settings import XeroSettings
from hub_accounting_xero.testing import line


def settings(**kw):
    return XeroSettings(client_id="id", client_secret="s3cret", **kw)


def test_defaults_point_at_xero_and_secret_is_redacted():
    s = settings()
    assert s.base_url == "https://api.xero.com/api.xro/2.0"
    assert s.connections_endpoint() == "https://api.xero.com/connections"
    assert s.invoice_status == "AUTHORISED" and s.batch_size == 50
    assert "s3cret" not in repr(s) and "s3cret" not in s.model_dump_json()


@pytest.mark.parametrize("bad", [{"batch_size": 51}, {"invoice_status": "PAID"},
                                 {"unknown_key": 1}, {"products": {"X": {"itemcode": "A"}}}])
def test_bad_settings_are_refused(bad):
    with pytest.raises(ValidationError):
        settings(**bad)


def test_product_mapping_and_tax_types_reach_the_line():
    s = settings(products={"M365-BP": {"item_code": "M365BP", "account_code": "210",
                                       "tax_type": "OUTPUT2"}},
                 tax_types={"20": "OUTPUT", "0": "NONE"}, default_account_code="200")
    mapped = line_element(s, line(product_code="M365-BP", tax_rate="20"))
    assert (mapped["ItemCode"], mapped["AccountCode"], mapped["TaxType"]) == ("M365BP", "210", "OUTPUT2")
    plain = line_element(s, line(tax_rate="20"))
    assert (plain["AccountCode"], plain["TaxType"]) == ("200", "OUTPUT") and "ItemCode" not in plain


def test_plugin_registers_the_xero_connection_type():
    [ep] = [e for e in entry_points(group="hub") if e.name == "accounting_xero"]
    module = ep.load()  # installed exactly as a third-party plugin would be
    host = build_plugin_host(load_entry_points=False, extra_plugins=[("accounting_xero", module)])
    ctype = host.connection_type("xero")
    assert ctype.settings_model is XeroSettings and ctype.capabilities == {"accounting", "payments_poll"}


def test_default_redirect_uri_is_on_the_port_the_hub_serves():
    """The OAuth callback registered at Xero must reach `hub serve` as it starts by default."""
    from urllib.parse import urlsplit

    from hub.config import WebSettings

    settings = XeroSettings(client_id="abc", client_secret="s")
    callback = urlsplit(settings.redirect_uri)
    assert callback.port == WebSettings().port
    assert callback.path == "/plugins/xero/callback"
