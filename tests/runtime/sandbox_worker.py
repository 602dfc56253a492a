"""A hub worker process with the sandbox accounting plugin registered (for the chaos tests).

Run as ``python tests/runtime/sandbox_worker.py`` with ``HUB_CONFIG`` and ``HUB_JOBS_*`` set: it
builds the context exactly as ``hub worker`` does (``build_context``, database-backed connection
state), adds the throwaway plugin, and runs :func:`hub.jobs.processes.run_worker` with the
dispatcher on — the same code path as ``hub worker``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


def main() -> None:
    path = Path(__file__).with_name("sandbox_accounting.py")
    spec = importlib.util.spec_from_file_location("hub_runtime_sandbox_accounting", path)
    plugin = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = plugin
    spec.loader.exec_module(plugin)

    from hub.config import load_settings
    from hub.jobs.logs import configure_logging
    from hub.jobs.processes import run_worker
    from hub.host.plugins import build_plugin_host
    from hub.host.context import build_context

    settings = load_settings()
    configure_logging("WARNING")
    host = build_plugin_host([("sandbox_accounting", plugin)], load_entry_points=False,
                             defaults=())
    run_worker(build_context(settings, plugins=host), dispatch=True)


if __name__ == "__main__":
    main()
