"""Step 1: the connection's settings and the plugin's registration."""

from importlib.metadata import entry_points

import pluggy
import pytest
from pydantic import ValidationError

from hub.contract import hookspecs
from hub_payments_stripe import plugin
from hub_payments_stripe.settings import DunningSettings, StripeSettings


def test_defaults_and_secret_redaction():
    s = StripeSettings(api_key="sk_test_123", webhook_secret="whsec_abc")
    assert s.api_base == "https://api.stripe.com"
    assert s.webhook_tolerance_seconds == 300
    assert s.dunning == DunningSettings(retry_days=(3, 5, 7), max_attempts=4)
    dumped = repr(s) + s.model_dump_json()
    assert "sk_test_123" not in dumped and "whsec_abc" not in dumped


@pytest.mark.parametrize("bad, where", [
    ({"api_kye": "x"}, "api_kye"),                       # misspelt key: extra="forbid"
    ({"api_base": "api.stripe.com"}, "api_base"),        # not a URL
    ({"webhook_tolerance_seconds": 0}, "webhook_tolerance_seconds"),
    ({"dunning": {"retry_days": []}}, "retry_days"),
    ({"dunning": {"retry_days": [0]}}, "retry_days"),
    ({"dunning": {"max_attemps": 3}}, "max_attemps"),
])
def test_bad_settings_are_refused_naming_the_key(bad, where):
    with pytest.raises(ValidationError) as info:
        StripeSettings.model_validate({"api_key": "sk_test_1", "webhook_secret": "whsec_1", **bad})
    assert where in str(info.value)


def test_empty_secret_is_refused():
    with pytest.raises(ValidationError, match="webhook_secret is empty"):
        StripeSettings(api_key="sk_test_1", webhook_secret="  ")


def test_entry_point_is_declared():
    found = {ep.name: ep.value for ep in entry_points(group="hub")}
    assert found.get("payments_stripe") == "hub_payments_stripe.plugin"


def test_plugin_registers_the_stripe_connection_type():
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.register(plugin, name="payments_stripe")
    pm.check_pending()  # every hookimpl matches a spec (no misspelt hook)
    registered = []
    pm.hook.hub_register_connection_types(register=registered.append)
    assert [(t.name, t.settings_model, t.capabilities) for t in registered] == [
        ("stripe", StripeSettings, frozenset({"payments"}))]
