"""The plugin contract: what plugins see and implement.

- :mod:`hub.contract.hookspecs`: the hook specifications (pluggy), the only thing plugins implement;
- :mod:`hub.contract.records`: the plain, frozen records that cross the plugin boundary;
- :mod:`hub.contract.connections`: named, configured instances of a plugin's connection type;
- :mod:`hub.contract.hooks_reference`: writes ``docs/hooks.md`` from the hookspecs.

Plugins import these through :mod:`hub`, which re-exports them.
"""
