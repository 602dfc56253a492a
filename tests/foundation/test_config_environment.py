"""``HUB_*`` environment variables: they win over hub.toml, a section's key can be set on its
own or the section as JSON, and a bad value is refused naming the variable (not a line of the
file it is not on, and never with a traceback)."""

import pytest
from pydantic import ValidationError

from hub.cli.main import main
from hub.config import load_settings
from hub.host.environment import read_environment
from hub.errors import ConfigError
from hub.jobs.settings import JobSettings

FILE = """\
log_level = "INFO"

[company]
name = "Acme IT"
currency = "EUR"
"""


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "hub.toml"
    path.write_text(FILE)
    return path


def test_a_bad_variable_is_named_not_a_line_of_the_file(config, monkeypatch):
    monkeypatch.setenv("HUB_COMPANY__CURRENCY", "usd")
    monkeypatch.setenv("HUB_LOG_LEVEL", "LOUD")
    with pytest.raises(ConfigError) as info:
        load_settings(config)
    message = info.value.user_message()
    assert "environment variable HUB_COMPANY__CURRENCY: company.currency: " in message
    assert "environment variable HUB_LOG_LEVEL: log_level: " in message
    assert str(config) not in message


def test_a_misspelt_key_in_a_variable_is_named(config, monkeypatch):
    monkeypatch.setenv("HUB_COMPANY__CURRANCY", "USD")
    with pytest.raises(ConfigError, match="environment variable HUB_COMPANY__CURRANCY: "
                                          "company.currancy: unknown key"):
        load_settings(config)


def test_bad_json_in_a_section_variable_is_a_refusal_with_the_fix(config, monkeypatch):
    monkeypatch.setenv("HUB_COMPANY", "{bad")
    with pytest.raises(ConfigError) as info:
        load_settings(config)
    assert "environment variable HUB_COMPANY: not valid JSON" in str(info.value)
    assert "HUB_COMPANY__KEY=value" in info.value.user_message()


def test_json_sections_lists_and_single_keys_merge_over_the_file(config, monkeypatch):
    monkeypatch.setenv("HUB_COMPANY", '{"name": "From JSON", "payment_due_days": 30}')
    monkeypatch.setenv("HUB_COMPANY__PAYMENT_DUE_DAYS", "7")  # a single key beats the JSON
    monkeypatch.setenv("hub_web__trusted_proxies", '["10.0.0.1", "10.0.0.2"]')  # any case
    monkeypatch.setenv("HUB_CONNECTIONS", '[{"name": "books", "plugin": "xero"}]')
    monkeypatch.setenv("HUB_DATA_DIR", "/srv/hub")
    settings = load_settings(config)
    assert settings.company.name == "From JSON"
    assert settings.company.currency == "EUR"  # from the file: the section is merged, not replaced
    assert settings.company.payment_due_days == 7
    assert settings.web.trusted_proxies == ["10.0.0.1", "10.0.0.2"]
    assert [c.name for c in settings.connections] == ["books"]
    assert str(settings.data_dir) == "/srv/hub"


def test_variables_that_name_no_setting_are_left_alone(config, monkeypatch):
    # other tools share the prefix: the config file's path, the job settings, the test kit
    for name in ("HUB_CONFIG_DIR", "HUB_JOBS_MAX_ATTEMPTS", "HUB_TEST_POSTGRES_URL"):
        monkeypatch.setenv(name, "x")
    assert load_settings(config).company.name == "Acme IT"


def test_what_the_environment_sets_is_recorded_by_variable():
    from hub.config import HubSettings

    found = read_environment(HubSettings, "HUB_", nested_delimiter="__", environ={
        "HUB_MAIL__PORT": "465", "HUB_MAIL__PASSWORD": '{"env": "SMTP_PW"}', "HUB_SECRET_KEY": ""})
    assert found.values == {"mail": {"port": "465", "password": {"env": "SMTP_PW"}},
                            "secret_key": ""}
    assert found.variable_for(("mail", "port")) == "HUB_MAIL__PORT"
    assert found.variable_for(("mail", "password", "env")) == "HUB_MAIL__PASSWORD"
    assert found.variable_for(("company", "name")) is None


def test_job_settings_come_from_their_variables_and_overrides_win(monkeypatch):
    monkeypatch.setenv("HUB_JOBS_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("HUB_JOBS_NAMESPACE", "blue")
    settings = JobSettings.from_environment(namespace="green")
    assert (settings.max_attempts, settings.namespace) == (3, "green")
    monkeypatch.setenv("HUB_JOBS_MAX_ATTEMPTS", "many")
    with pytest.raises(ConfigError, match="environment variable HUB_JOBS_MAX_ATTEMPTS: "
                                          "max_attempts: "):
        JobSettings.from_environment()


def test_hub_status_refuses_a_bad_job_variable_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0
    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()
    monkeypatch.setenv("HUB_JOBS_MAX_ATTEMPTS", "many")
    assert main(["status"]) != 0
    err = capsys.readouterr().err
    assert err.startswith("error: environment variable HUB_JOBS_MAX_ATTEMPTS: max_attempts:")
    assert "Traceback" not in err


def test_a_config_path_that_is_a_folder_or_not_text_is_a_refusal(tmp_path, monkeypatch, capsys):
    binary = tmp_path / "hub.toml"
    binary.write_bytes(b'data_dir = "\xff\xfe"\n')
    for path, refusal in ((tmp_path, "is a folder"), (binary, "not UTF-8 text")):
        monkeypatch.setenv("HUB_CONFIG", str(path))
        with pytest.raises(ConfigError, match=refusal):
            load_settings()
        assert main(["status"]) != 0
        err = capsys.readouterr().err
        assert err.startswith("error: ") and refusal in err and "Traceback" not in err


@pytest.mark.parametrize("variable, value", [
    ("HUB_JOBS_HEARTBEAT_TIMEOUT_SECONDS", "1e300"),
    ("HUB_JOBS_HEARTBEAT_TIMEOUT_SECONDS", "0"),
    ("HUB_JOBS_WORKER_THREADS", "1000000"),
    ("HUB_JOBS_DISPATCH_LEASE_SECONDS", "inf"),
    ("HUB_JOBS_MAX_ATTEMPTS", "2.5"),
])
def test_a_job_setting_out_of_its_bounds_is_refused_naming_the_variable(monkeypatch, variable,
                                                                        value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=f"environment variable {variable}: "):
        JobSettings.from_environment()


def test_job_settings_refuse_a_yes_no_and_a_first_retry_longer_than_the_longest():
    with pytest.raises(ValidationError, match="yes/no"):
        JobSettings(heartbeat_timeout_seconds=True)
    with pytest.raises(ValidationError, match="min_backoff_seconds .* is more than"):
        JobSettings(min_backoff_seconds=120, max_backoff_seconds=60)


def test_a_first_retry_longer_than_the_longest_is_refused_in_one_line(monkeypatch):
    monkeypatch.setenv("HUB_JOBS_MIN_BACKOFF_SECONDS", "1000")
    with pytest.raises(ConfigError) as refused:
        JobSettings.from_environment()
    assert str(refused.value).startswith("environment: min_backoff_seconds (1000) is more than "
                                         "max_backoff_seconds (900)")
