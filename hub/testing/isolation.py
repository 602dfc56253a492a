"""Keep a test session from seeing plugins it did not ask for.

The hub finds plugins through entry points, so anything ``pip install``-ed beside it — a
plugin an author is writing, say one registering a connection type ``acme`` — is loaded by
every plugin host a test builds, and can change what the test sees (two plugins claiming one
connection type are refused). :func:`only_distributions` sets ``HUB_PLUGIN_DISTRIBUTIONS``
(read by :func:`hub.host.plugins.build_plugin_host`, and inherited by ``hub`` subprocesses), so
only the named distributions' entry points are loaded; a :class:`~hub.testing.FakeDistribution`
installed while it holds is added to the list and removed again when it is uninstalled.

The hub's own suite names the distributions its ``requirements.txt`` installs (see the
repository's ``conftest.py``); :func:`distributions_of` reads them from that file.
"""

from __future__ import annotations

import os
import re
import tomllib
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

from hub.host.plugins import DISTRIBUTIONS_ENV, canonical_name

__all__ = ["only_distributions", "distributions_of", "allow", "disallow"]

_EDITABLE = re.compile(r"^\s*-e\s+(?P<path>[^\s\[#]+)")


def distributions_of(requirements: Path) -> list[str]:
    """The names of the local projects a requirements file installs (its ``-e ./path`` lines,
    each name read from that project's ``pyproject.toml``); ``-r`` includes are followed."""
    requirements = Path(requirements)
    names: list[str] = []
    for line in requirements.read_text(encoding="utf-8").splitlines():
        if line.strip().startswith("-r "):
            names += distributions_of(requirements.parent / line.strip()[3:].strip())
            continue
        match = _EDITABLE.match(line)
        if not match:
            continue
        project = (requirements.parent / match["path"]).resolve() / "pyproject.toml"
        if project.exists():
            names.append(tomllib.loads(project.read_text(encoding="utf-8"))["project"]["name"])
    return names


def _current() -> list[str] | None:
    value = os.environ.get(DISTRIBUTIONS_ENV)
    return None if value is None else [n for n in value.split(",") if n]


@contextmanager
def only_distributions(names: Iterable[str]) -> Iterator[None]:
    """Within this block plugin hosts load entry points only from ``names`` (plus any
    :class:`~hub.testing.FakeDistribution` installed meanwhile)."""
    previous = os.environ.get(DISTRIBUTIONS_ENV)
    os.environ[DISTRIBUTIONS_ENV] = ",".join(canonical_name(n) for n in names)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(DISTRIBUTIONS_ENV, None)
        else:
            os.environ[DISTRIBUTIONS_ENV] = previous


def allow(name: str) -> None:
    """Let distribution ``name`` be seen, if an :func:`only_distributions` block is active."""
    current = _current()
    if current is not None and canonical_name(name) not in current:
        os.environ[DISTRIBUTIONS_ENV] = ",".join([*current, canonical_name(name)])


def disallow(name: str) -> None:
    """Undo :func:`allow`."""
    current = _current()
    if current is not None:
        os.environ[DISTRIBUTIONS_ENV] = ",".join(n for n in current
                                                 if n != canonical_name(name))
