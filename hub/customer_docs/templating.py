"""The Jinja2 environment for documents and emails: editable templates, locale filters.

Templates are looked up first in ``company.templates_dir`` (when configured) and then among the
packaged ones in ``hub/customer_docs/templates/``: to change the invoice layout, copy
``invoice.html`` (or ``base.html``, ``style.css``, ``mail/invoice.subject.txt``, ...) into that
folder and edit it; anything not copied keeps the packaged version. ``hub pdf templates``
lists the names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from functools import wraps
from typing import Callable

from jinja2 import (ChoiceLoader, Environment, FileSystemLoader, PackageLoader, StrictUndefined,
                    TemplateError, TemplateNotFound, Undefined, select_autoescape)

from hub.customer_docs.formatting import Formatter
from hub.errors import ConfigError, HubError

__all__ = ["TemplateFailed", "make_environment", "render_template", "packaged_templates",
           "PACKAGED_DIR"]

#: Where the packaged templates live.
PACKAGED_DIR = Path(__file__).parent / "templates"


class TemplateFailed(HubError):
    """A document or email template could not be rendered (names the template and line)."""


def make_environment(formatter: Formatter, templates_dir: Path | None = None) -> Environment:
    """An environment whose loader prefers ``templates_dir`` over the packaged templates.

    ``StrictUndefined``: a misspelt variable in an edited template is an error naming it, not a
    silently blank total on a customer's invoice.
    """
    loaders: list[Any] = []
    if templates_dir is not None:
        if not Path(templates_dir).is_dir():
            raise ConfigError(f"company.templates_dir {templates_dir} is not a folder",
                              hint="create it (copy templates from `hub pdf templates --copy`) "
                                   "or remove the setting")
        loaders.append(FileSystemLoader(str(templates_dir)))
    loaders.append(PackageLoader("hub.customer_docs", "templates"))
    env = Environment(loader=ChoiceLoader(loaders), undefined=StrictUndefined,
                      autoescape=select_autoescape(["html", "htm", "xml"]),
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False)
    env.filters.update({name: _strict(fn) for name, fn in formatter.filters().items()})
    return env


def _strict(fn: Callable[..., str]) -> Callable[..., str]:
    """A filter that fails on an undefined value the way StrictUndefined does (naming the
    variable), instead of being handed an ``Undefined`` it cannot format."""

    @wraps(fn)
    def checked(value: Any, *args: Any) -> str:
        for arg in (value, *args):
            if isinstance(arg, Undefined):
                arg._fail_with_undefined_error()
        return fn(value, *args)

    return checked


def render_template(env: Environment, name: str, context: dict[str, Any]) -> str:
    """Render template ``name``; any template problem becomes :class:`TemplateFailed`."""
    try:
        return env.get_template(name).render(**context)
    except TemplateNotFound as exc:
        raise TemplateFailed(f"template {exc.name!r} not found",
                             hint="restore it in company.templates_dir or remove the override"
                             ) from None
    except (TemplateError, ValueError, TypeError) as exc:
        # ValueError/TypeError: a filter given something it cannot format (e.g. text as money).
        where = getattr(exc, "filename", None) or name
        line = getattr(exc, "lineno", None)
        place = f"{where}:{line}" if line else where
        raise TemplateFailed(f"template {place}: {exc}",
                             hint="fix the template (see `hub pdf templates`), then try again"
                             ) from None


def packaged_templates() -> list[str]:
    """Names of the packaged templates, e.g. ``invoice.html``, ``mail/invoice.body.txt``."""
    return sorted(p.relative_to(PACKAGED_DIR).as_posix()
                  for p in PACKAGED_DIR.rglob("*") if p.is_file())
