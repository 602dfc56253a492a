"""Install a throwaway plugin distribution for a test, found through real entry points.

Writes the plugin's modules and a ``NAME-VERSION.dist-info`` (METADATA + entry_points.txt)
into a folder and puts it on ``sys.path`` — exactly what ``pip install`` leaves behind, so
``importlib.metadata.entry_points(group="hub")`` finds it like any installed plugin.
"""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path

from hub.testing.isolation import allow, disallow

__all__ = ["FakeDistribution"]


class FakeDistribution:
    """``FakeDistribution(root, "acme-plugin", {"acme": "acme_plugin"}, {"acme_plugin": SRC})``.

    ``entry_points`` maps entry-point name → module; ``modules`` maps module name → source.
    Use as a context manager; leaving removes it from ``sys.path`` and ``sys.modules``.
    """

    def __init__(self, root: Path, name: str, entry_points: dict[str, str],
                 modules: dict[str, str], version: str = "0.1.0") -> None:
        self.root = Path(root)
        self.name = name
        self.version = version
        self.entry_points = entry_points
        self.modules = modules

    def install(self) -> "FakeDistribution":
        """Write the files and make them importable."""
        self.root.mkdir(parents=True, exist_ok=True)
        for module, source in self.modules.items():
            (self.root / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        dist_info = self.root / f"{self.name.replace('-', '_')}-{self.version}.dist-info"
        dist_info.mkdir(exist_ok=True)
        (dist_info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {self.name}\nVersion: {self.version}\n",
            encoding="utf-8")
        lines = ["[hub]"] + [f"{ep} = {target}" for ep, target in self.entry_points.items()]
        (dist_info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        sys.path.insert(0, str(self.root))
        importlib.invalidate_caches()
        allow(self.name)  # seen even when the session hides other installed plugins
        return self

    def uninstall(self) -> None:
        """Take it off ``sys.path`` and forget its modules."""
        disallow(self.name)
        if str(self.root) in sys.path:
            sys.path.remove(str(self.root))
        for module in self.modules:
            sys.modules.pop(module, None)
        importlib.invalidate_caches()

    def __enter__(self) -> "FakeDistribution":
        return self.install()

    def __exit__(self, *exc) -> None:
        self.uninstall()
