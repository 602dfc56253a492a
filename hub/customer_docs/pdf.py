"""HTML + CSS to PDF with xhtml2pdf: pure Python on reportlab, no system libraries needed.

Only local files in the folders we name are loaded (the template folders, the logo's folder),
enforced by xhtml2pdf's own resource policy: a template never makes the hub fetch a URL or read
a file elsewhere, so rendering works offline and cannot be used to reach the network.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path
from urllib.parse import unquote, urlparse

from xhtml2pdf import pisa
from xhtml2pdf.config.resources import ResourceAccessPolicy

from hub.errors import HubError

__all__ = ["RenderFailed", "html_to_pdf"]

log = logging.getLogger("hub.customer_docs")


class RenderFailed(HubError):
    """The PDF could not be produced from the rendered HTML."""


def _local_only(base_dirs: tuple[Path, ...]):
    def link_callback(uri: str, rel: str | None) -> str:
        parsed = urlparse(uri)
        if parsed.scheme in ("http", "https", "ftp", "data"):
            if parsed.scheme == "data":
                return uri  # inline images are self-contained
            log.warning("template refers to %s; remote files are not loaded", uri)
            return ""
        path = Path(unquote(parsed.path if parsed.scheme == "file" else uri))
        candidates = [path] if path.is_absolute() else [base / path for base in base_dirs]
        for candidate in candidates:
            if candidate.is_file():
                return str(candidate.resolve())
        log.warning("template refers to %s, which is not a file", uri)
        return ""

    return link_callback


def html_to_pdf(html: str, *, base_dirs: tuple[Path, ...] = (),
                extra_roots: tuple[Path, ...] = ()) -> bytes:
    """The PDF of ``html``. Relative image paths are looked up in ``base_dirs`` in order;
    files may be read only from ``base_dirs`` and ``extra_roots`` (e.g. the logo's folder)."""
    roots = tuple(Path(d).resolve() for d in (*base_dirs, *extra_roots))
    policy = ResourceAccessPolicy(allow_remote=False, base_dir=roots[0] if roots else None,
                                  extra_roots=roots[1:])
    out = io.BytesIO()
    status = pisa.CreatePDF(html, dest=out, encoding="utf-8", resource_policy=policy,
                            link_callback=_local_only(tuple(base_dirs)))
    if status.err:
        raise RenderFailed(f"the PDF renderer reported {status.err} error(s)",
                           hint="check the edited template's HTML and CSS (run with --debug "
                                "to see the renderer's log)")
    data = out.getvalue()
    if not data.startswith(b"%PDF"):
        raise RenderFailed("the PDF renderer produced no PDF",
                           hint="check the edited template's HTML and CSS")
    return data
