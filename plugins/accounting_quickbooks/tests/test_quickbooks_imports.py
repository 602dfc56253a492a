"""The plugin imports nothing from ``hub`` outside the public API: ``hub`` itself, the test
kit (``hub.testing*``) and the vendor-HTTP and sandbox kits, wherever the host keeps them."""

from __future__ import annotations

import ast
from pathlib import Path

import hub_accounting_quickbooks

#: the one list of what a plugin may import from the host (the kits by their last name, so a
#: move of hub/sources/vendor_http.py or hub/testing/vendor_sandbox.py into a package keeps this test meaningful)
PUBLIC = ("hub", "hub.testing")
KITS = ("vendor_http", "sandbox")


def allowed(module: str) -> bool:
    """True for ``hub``, ``hub.testing...`` and ``hub.<...>.vendor_http|sandbox``."""
    if module in PUBLIC or module.startswith("hub.testing."):
        return True
    parts = module.split(".")
    return parts[0] == "hub" and parts[-1] in KITS


def hub_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import of a ``hub`` module in one source file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found += [(node.lineno, n) for n in names if n == "hub" or n.startswith("hub.")]
    return found


def test_plugin_uses_only_the_public_api():
    root = Path(hub_accounting_quickbooks.__file__).parent
    sources = sorted(root.rglob("*.py"))
    assert len(sources) > 20
    private = [f"{p.relative_to(root)}:{line} imports {module}"
               for p in sources for line, module in hub_imports(p) if not allowed(module)]
    assert private == []


def test_the_check_can_fail(tmp_path):
    planted = tmp_path / "bad.py"
    planted.write_text("from hub.jobs.inbox import store_events\nimport hub.core.money\n"
                       "from hub import Money\nfrom hub.testing import FrozenClock\n")
    assert [m for _, m in hub_imports(planted) if not allowed(m)] == ["hub.jobs.inbox",
                                                                     "hub.core.money"]
    assert allowed("hub.sources.vendor_http") and allowed("hub.testing.sandbox")
