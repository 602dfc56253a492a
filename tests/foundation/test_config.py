"""Configuration: typed, extra="forbid", env over file, secrets redacted, errors point at lines."""

import json

import pytest

from hub.cli.main import main
from hub.config import load_settings
from hub.errors import ConfigError

GOOD = """\
data_dir = "data"

[company]
name = "Acme IT"
currency = "EUR"

[[connections]]
name = "books"
plugin = "xero"
[connections.settings]
client_id = "abc"
client_secret = { env = "XERO_SECRET" }
api_token = "plain-token-value"
"""


def test_file_values_load_and_env_wins(tmp_path, monkeypatch):
    path = tmp_path / "hub.toml"
    path.write_text(GOOD)
    monkeypatch.setenv("HUB_COMPANY__NAME", "From Env")
    settings = load_settings(path)
    assert settings.company.currency == "EUR"
    assert settings.company.name == "From Env"
    assert settings.connections[0].settings["client_secret"] == {"env": "XERO_SECRET"}


def test_unknown_key_names_file_line_and_key(tmp_path):
    path = tmp_path / "hub.toml"
    path.write_text('[company]\nname = "x"\ncurrancy = "EUR"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    message = info.value.user_message()
    assert f"{path}:3: company.currancy: unknown key" in message


def test_bad_value_in_a_connection_points_at_its_line(tmp_path):
    path = tmp_path / "hub.toml"
    path.write_text('[[connections]]\nname = "a"\nplugin = "x"\n\n[[connections]]\n'
                    'name = "Bad Name"\nplugin = "y"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert f"{path}:6: connections.1.name" in str(info.value)


def test_toml_syntax_error_is_reported_with_the_fix(tmp_path):
    path = tmp_path / "hub.toml"
    path.write_text("[company]\nname = unquoted\n")
    with pytest.raises(ConfigError, match="not valid TOML.*line 2"):
        load_settings(path)


def test_missing_named_file_says_how_to_create_one(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path / "nope.toml")
    assert "hub init" in info.value.user_message()


def test_config_show_redacts_every_secret(tmp_path, capsys, monkeypatch):
    path = tmp_path / "hub.toml"
    path.write_text(GOOD)
    monkeypatch.setenv("HUB_DATABASE_URL", "postgresql://hub:hunter2@db/hub")
    monkeypatch.setenv("XERO_SECRET", "s3cr3t-value")
    assert main(["--config", str(path), "config", "show", "--json"]) == 0
    out = capsys.readouterr().out
    data = json.loads(out)
    assert "hunter2" not in out and "s3cr3t-value" not in out and "plain-token-value" not in out
    assert data["connections"][0]["settings"]["client_secret"] == {"env": "XERO_SECRET"}
    assert data["connections"][0]["settings"]["api_token"] == "**********"
    assert data["connections"][0]["settings"]["client_id"] == "abc"


def test_invalid_config_is_one_line_on_the_cli_without_traceback(tmp_path, capsys):
    path = tmp_path / "hub.toml"
    path.write_text('[web]\nport = "eighty"\n')
    assert main(["--config", str(path), "config", "show"]) == 3  # a configuration error (README: exit codes)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "web.port" in lines[0] and ":2:" in lines[0]


def test_init_writes_a_config_that_loads(tmp_path, capsys):
    path = tmp_path / "hub.toml"
    assert main(["init", "--path", str(path)]) == 0
    settings = load_settings(path)
    assert settings.company.invoice_number_format == "{year}{partner_id|2}{next|6}"
    assert main(["init", "--path", str(path)]) == 3  # a configuration error
    assert "--force" in capsys.readouterr().err


def test_every_key_the_sample_config_mentions_is_a_real_key(tmp_path, monkeypatch):
    """Uncomment the optional settings `hub init` documents: the file must still load."""
    import re

    from hub.cli.commands.setup import SAMPLE_CONFIG

    text = re.sub(r"(?m)^# (\[mail\]|(?:address|logo|templates_dir|payment_instructions|host|port"
                  r"|security|username|password|from_address|database_url|broker_url) = )",
                  r"\1", SAMPLE_CONFIG)
    path = tmp_path / "hub.toml"
    path.write_text(text)
    monkeypatch.delenv("HUB_DATABASE_URL", raising=False)
    settings = load_settings(path)
    assert settings.mail.host == "smtp.example.com"
    assert settings.company.address == ["1 Example Street", "Springfield"]
    assert settings.broker_url == "redis://redis.internal:6379/0"


def test_usage_errors_are_one_clear_message_not_a_traceback(capsys):
    assert main(["no-such-command"]) == 2
    assert main(["init", "--no-such-option"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "No such command 'no-such-command'" in err and "No such option" in err


@pytest.mark.parametrize("section,key,value,words", [
    ("company", "payment_due_days", "-5", "-5 is outside 0–365 days"),
    ("company", "payment_due_days", "100000", "100000 is outside 0–365 days"),
    ("company", "payment_due_days", "366", "366 is outside 0–365 days"),
    ("company", "payment_due_days", "true", "true is a yes/no, not a number of days"),
    ("company", "payment_due_days", "1.5", "1.5 is not a whole number of days"),
    ("billing", "reminder_days", "[7, -3]", "-3 is outside 0–3650 days"),
    ("billing", "reminder_days", "[100000]", "100000 is outside 0–3650 days"),
    ("billing", "reminder_days", "[true]", "true is a yes/no"),
])
def test_day_counts_in_the_settings_are_bounded(tmp_path, capsys, section, key, value, words):
    path = tmp_path / "hub.toml"
    path.write_text(f"[{section}]\n{key} = {value}\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    message = info.value.user_message()
    assert f"{path}:2: {section}.{key}" in message and words in message, message
    assert "Value error" not in message
    assert main(["--config", str(path), "config", "show"]) == 3
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and words in lines[0], lines


def test_day_counts_in_range_load_from_the_file_and_the_environment(tmp_path, monkeypatch):
    path = tmp_path / "hub.toml"
    path.write_text("[company]\npayment_due_days = 365\n[billing]\nreminder_days = [0, 3650]\n")
    settings = load_settings(path)
    assert (settings.company.payment_due_days, settings.billing.reminder_days) == (365, [0, 3650])
    monkeypatch.setenv("HUB_COMPANY__PAYMENT_DUE_DAYS", "0")  # text of digits, as env gives
    assert load_settings(path).company.payment_due_days == 0
    monkeypatch.setenv("HUB_COMPANY__PAYMENT_DUE_DAYS", "400")
    with pytest.raises(ConfigError, match="HUB_COMPANY__PAYMENT_DUE_DAYS.*400 is outside"):
        load_settings(path)


def test_the_company_term_is_bounded_as_an_organisations_is():
    from hub.config import MAX_DUE_DAYS
    from hub.validation.fields import MAX_DUE_DAYS as ORGANISATION_MAX

    assert MAX_DUE_DAYS == ORGANISATION_MAX == 365
