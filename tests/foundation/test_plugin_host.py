"""The plugin host: entry-point discovery, loud start-up failures, env switches."""

import pytest
from pydantic import BaseModel

from hub.cli.main import main
from hub.errors import PluginError
from hub.host.plugins import build_plugin_host
from hub.testing import FakeDistribution

ACME = '''
from pydantic import BaseModel, ConfigDict
from hub import ConnectionType, hookimpl


class AcmeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str


@hookimpl
def hub_register_connection_types(register):
    register(ConnectionType(name="acme", settings_model=AcmeSettings,
                            capabilities=frozenset({"pull"})))
'''


def test_third_party_plugin_is_found_through_entry_points(tmp_path):
    with FakeDistribution(tmp_path, "acme-hub-plugin", {"acme": "acme_plugin"},
                          {"acme_plugin": ACME}):
        host = build_plugin_host(defaults=())
        info = next(p for p in host.plugins if p.name == "acme")
        assert info.distribution == "acme-hub-plugin" and info.version == "0.1.0"
        assert info.connection_types == ["acme"]
        assert "hub_register_connection_types" in info.hooks
        assert host.connection_type("acme").settings_model.__name__ == "AcmeSettings"


def test_bundled_plugins_are_listed_by_the_cli(capsys):
    assert main(["plugins", "--json"]) == 0
    import json

    listed = {p["name"]: p for p in json.loads(capsys.readouterr().out)}
    for name in ("vendor_usage", "accounting_xero", "payments_stripe", "ninjaone", "autotask",
                 "datto_rmm"):
        assert name in listed, name
        assert listed[name]["distribution"].startswith("hub-")


def test_plugin_that_raises_on_import_is_named(tmp_path, capsys):
    with FakeDistribution(tmp_path, "broken-plugin", {"broken": "broken_plugin"},
                          {"broken_plugin": "raise RuntimeError('boom at import')\n"}):
        with pytest.raises(PluginError, match='Error importing plugin "broken".*boom at import'):
            build_plugin_host(defaults=())
        assert main(["plugins"]) == 3  # a configuration error
        err = capsys.readouterr().err
        assert 'Error importing plugin "broken"' in err and "HUB_DISABLE_PLUGINS=broken" in err
        assert "Traceback" not in err


def test_disabled_plugin_is_skipped(tmp_path, monkeypatch):
    with FakeDistribution(tmp_path, "broken-plugin2", {"broken2": "broken_plugin2"},
                          {"broken_plugin2": "raise RuntimeError('boom')\n"}):
        monkeypatch.setenv("HUB_DISABLE_PLUGINS", "broken2")
        host = build_plugin_host(defaults=())
        assert all(p.name != "broken2" for p in host.plugins)


def test_misspelt_hook_is_caught_at_start_up(tmp_path, capsys):
    source = "from hub import hookimpl\n\n@hookimpl\ndef hub_count_asets(connection, query):\n    return None\n"
    with FakeDistribution(tmp_path, "typo-plugin", {"typo": "typo_plugin"},
                          {"typo_plugin": source}):
        with pytest.raises(PluginError, match='plugin "typo".*hub_count_asets'):
            build_plugin_host(defaults=())
        assert main(["plugins"]) == 3  # a configuration error
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "hub_count_asets" in err


def test_two_plugins_claiming_one_connection_type_are_refused(make_plugin_host):
    from hub import ConnectionType, hookimpl

    class Settings(BaseModel):
        pass

    class One:
        @hookimpl
        def hub_register_connection_types(self, register):
            register(ConnectionType("dup", Settings, frozenset()))

    class Two(One):
        pass

    with pytest.raises(PluginError, match='both register connection type "dup"'):
        make_plugin_host(One(), Two())


def test_connection_settings_are_validated_by_the_plugins_model(tmp_path, make_hub_context):
    from hub.errors import ConfigError

    with FakeDistribution(tmp_path / "dist", "acme-hub-plugin2", {"acme2": "acme_plugin2"},
                          {"acme_plugin2": ACME}):
        path = tmp_path / "hub.toml"
        path.write_text('[[connections]]\nname = "acme1"\nplugin = "acme"\n'
                        '[connections.settings]\nurl = "http://x"\nuhrl = "typo"\n')
        from hub.host.context import HubContext
        from hub.config import load_settings

        ctx = HubContext.from_settings(load_settings(path), plugins=build_plugin_host(defaults=()))
        with pytest.raises(ConfigError) as info:
            ctx.connection("acme1")
        assert f"{path}:6: connections.0.settings.uhrl: unknown key" in str(info.value)


def test_unknown_connection_type_lists_the_installed_ones(make_plugin_host):
    host = make_plugin_host(defaults=False)
    with pytest.raises(PluginError, match="no installed plugin provides connection type 'nope'"):
        host.connection_type("nope")
