"""Numbers in ``hub.toml`` take what they say, within bounds a real MSP never passes: TOML's
``true`` is not partner id 1, port 1 or one second (pydantic's lax int and float read it so),
``2.5`` is no partner id, and a webhook body limit of 100 TB, a pull every 190,000 years or an
SMTP timeout of 31,000 years are refused. Each bound is in the field's description."""

from __future__ import annotations

import pytest

from hub.cli.main import main
from hub.config import (
    MAX_MAIL_TIMEOUT_SECONDS, MAX_PULL_INTERVAL_MINUTES, MAX_WEBHOOK_BYTES, CompanySettings,
    ConnectionConfig, MailSettings, WebSettings, load_settings,
)
from hub.errors import ConfigError

CONNECTION = '[[connections]]\nname = "psa"\nplugin = "autotask"\n'


@pytest.mark.parametrize("text,key,words", [
    ("[company]\npartner_id = true", "company.partner_id", "true is a yes/no, not a number"),
    ("[company]\npartner_id = false", "company.partner_id", "false is a yes/no"),
    ("[company]\npartner_id = 2.5", "company.partner_id", "2.5 is not a whole number"),
    ("[company]\npartner_id = 100", "company.partner_id", "less than or equal to 99"),
    ("[web]\nport = true", "web.port", "true is a yes/no"),
    ("[mail]\nport = true", "mail.port", "true is a yes/no"),
    ("[web]\nmax_webhook_bytes = 100_000_000_000_000", "web.max_webhook_bytes",
     f"less than or equal to {MAX_WEBHOOK_BYTES}"),
    ("[web]\nmax_webhook_bytes = true", "web.max_webhook_bytes", "true is a yes/no"),
    ("[mail]\ntimeout_seconds = 1e12", "mail.timeout_seconds",
     f"less than or equal to {MAX_MAIL_TIMEOUT_SECONDS}"),
    ("[mail]\ntimeout_seconds = inf", "mail.timeout_seconds", "less than or equal to"),
    ("[mail]\ntimeout_seconds = nan", "mail.timeout_seconds", "less than or equal to"),
    ("[mail]\ntimeout_seconds = true", "mail.timeout_seconds", "true is a yes/no"),
    ("[mail]\ntimeout_seconds = 0", "mail.timeout_seconds", "greater than 0"),
    (CONNECTION + "pull_interval_minutes = 99999999999", "connections.0.pull_interval_minutes",
     f"less than or equal to {MAX_PULL_INTERVAL_MINUTES}"),
    (CONNECTION + "pull_interval_minutes = true", "connections.0.pull_interval_minutes",
     "true is a yes/no"),
    (CONNECTION + "rate_time_scale = true", "connections.0.rate_time_scale", "true is a yes/no"),
])
def test_a_yes_no_or_an_unbounded_number_is_refused_in_one_line(tmp_path, capsys, text, key,
                                                                 words):
    path = tmp_path / "hub.toml"
    path.write_text(text + "\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    message = info.value.user_message()
    assert f": {key}: " in message and words in message, message
    assert main(["--config", str(path), "config", "show"]) == 3
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and key in lines[0] and "Traceback" not in lines[0], lines


def test_the_largest_allowed_values_and_text_from_the_environment_load(tmp_path, monkeypatch):
    path = tmp_path / "hub.toml"
    path.write_text(f"[company]\npartner_id = 99\n[web]\nmax_webhook_bytes = {MAX_WEBHOOK_BYTES}\n"
                    f"[mail]\ntimeout_seconds = {MAX_MAIL_TIMEOUT_SECONDS}\n{CONNECTION}"
                    f"pull_interval_minutes = {MAX_PULL_INTERVAL_MINUTES}\n"
                    "rate_time_scale = 2.5\n")
    monkeypatch.setenv("HUB_WEB__PORT", "8080")  # an environment variable is text
    monkeypatch.setenv("HUB_MAIL__PORT", "465")
    settings = load_settings(path)
    assert (settings.company.partner_id, settings.web.port, settings.mail.port) == (99, 8080, 465)
    assert settings.web.max_webhook_bytes == MAX_WEBHOOK_BYTES == 16 * 1024 * 1024
    assert settings.mail.timeout_seconds == MAX_MAIL_TIMEOUT_SECONDS
    assert settings.connections[0].pull_interval_minutes == MAX_PULL_INTERVAL_MINUTES == 10_080
    assert settings.connections[0].rate_time_scale == 2.5
    monkeypatch.setenv("HUB_MAIL__TIMEOUT_SECONDS", "0.5")
    assert load_settings(path).mail.timeout_seconds == 0.5


def test_each_bound_is_in_its_description():
    def description(model, name):
        return model.model_fields[name].description

    assert "0–99" in description(CompanySettings, "partner_id")
    assert str(MAX_WEBHOOK_BYTES) in description(WebSettings, "max_webhook_bytes")
    assert str(MAX_MAIL_TIMEOUT_SECONDS) in description(MailSettings, "timeout_seconds")
    assert str(MAX_PULL_INTERVAL_MINUTES) in description(ConnectionConfig,
                                                         "pull_interval_minutes")
