"""``hub plugin new NAME``: write an installable plugin that works from the first minute.

The result is a distribution with its own ``pyproject.toml`` (entry point ``NAME =
"hub_NAME.plugin"`` in the ``hub`` group), a settings model, a client on
:mod:`hub.sources.vendor_http`, a plugin module registering the connection type and its pull hooks, a
sandbox on :mod:`hub.testing.vendor_sandbox` and tests that pass against it. Templates are Jinja2 files under
``hub/scaffold/templates/``: ``package/`` becomes ``hub_NAME/`` and ``NAME`` in a file name becomes
the plugin's name.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from hub.errors import ValidationFailed

__all__ = ["PluginNames", "names_for", "scaffold", "TEMPLATES"]

TEMPLATES = Path(__file__).parent / "templates"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class PluginNames:
    """Every spelling of a plugin's name the templates need."""

    name: str          # connection type and entry point name: acme_rmm
    package: str       # import package: hub_acme_rmm
    distribution: str  # pip name: hub-plugin-acme-rmm
    class_name: str    # AcmeRmm
    title: str         # Acme Rmm


def names_for(name: str) -> PluginNames:
    """Validate ``name`` and derive the other spellings; dashes become underscores."""
    name = name.strip().lower().replace("-", "_")
    if not _NAME.match(name) or keyword.iskeyword(name):
        raise ValidationFailed(f"{name!r} cannot name a plugin",
                               hint="use lower-case letters, digits and '_', starting with a "
                                    "letter, e.g. `hub plugin new acme_rmm`")
    words = [w for w in name.split("_") if w]
    return PluginNames(name=name, package=f"hub_{name}",
                       distribution=f"hub-plugin-{name.replace('_', '-')}",
                       class_name="".join(w.capitalize() for w in words),
                       title=" ".join(w.capitalize() for w in words))


def _target_path(relative: Path, names: PluginNames) -> Path:
    parts = [names.package if part == "package" else part.replace("NAME", names.name)
             for part in relative.parts]
    path = Path(*parts)
    return path.with_name(path.name.removesuffix(".j2"))


def scaffold(name: str, directory: Path) -> list[Path]:
    """Write plugin ``name`` into ``directory / name``; returns the files written.

    Refuses to write into a directory that already has files, so nothing is overwritten.
    """
    names = names_for(name)
    target = Path(directory) / names.name
    if target.exists() and any(target.iterdir()):
        raise ValidationFailed(f"{target} already exists and is not empty",
                               hint="choose another --dir or remove that directory first")
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), keep_trailing_newline=True,
                      undefined=StrictUndefined, autoescape=False)
    written = []
    for template_path in sorted(TEMPLATES.rglob("*.j2")):
        relative = template_path.relative_to(TEMPLATES)
        output = target / _target_path(relative, names)
        output.parent.mkdir(parents=True, exist_ok=True)
        text = env.get_template(relative.as_posix()).render(**vars(names))
        output.write_text(text, encoding="utf-8")
        written.append(output)
    return written
