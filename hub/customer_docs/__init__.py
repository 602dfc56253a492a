"""Customer documents: invoice, credit note and statement PDFs from editable templates, and
sending them by email.

- :class:`DocumentRenderer` renders a document (Jinja2 HTML + CSS → PDF with xhtml2pdf) using
  ``[company]`` (details, logo, locale, ``templates_dir``) from ``hub.toml``;
- :mod:`hub.customer_docs.sending` sends one by SMTP (:mod:`hub.customer_docs.mailer`) and records every
  send (:class:`hub.db.models.sends.DocumentSend`); the job runtime reaches it through
  :mod:`hub.customer_docs.sending`.

Users reach it with ``hub pdf ...``, ``hub send ...`` and ``GET /invoices/{id}.pdf``.
"""

from hub.customer_docs.formatting import Formatter
from hub.customer_docs.pdf import RenderFailed, html_to_pdf
from hub.customer_docs.render import DocumentRenderer, MailText, RenderedDocument
from hub.customer_docs.templating import TemplateFailed, packaged_templates

__all__ = ["DocumentRenderer", "RenderedDocument", "MailText", "Formatter", "RenderFailed",
           "TemplateFailed", "html_to_pdf", "packaged_templates"]
