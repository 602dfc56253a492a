"""Render customer documents: context from the database → Jinja2 HTML → PDF.

::

    renderer = DocumentRenderer(settings)
    with session_scope(engine) as session:
        doc = renderer.invoice(session, 42)
    Path(doc.filename).write_bytes(doc.pdf)
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Callable

from jinja2 import Environment
from sqlmodel import Session

from hub.config import HubSettings
from hub.customer_docs.context import card_to_charge, credit_note_context, invoice_context
from hub.customer_docs.formatting import Formatter
from hub.customer_docs.pdf import html_to_pdf
from hub.customer_docs.statement_data import statement_context
from hub.customer_docs.templating import PACKAGED_DIR, make_environment, render_template
from hub.customer_docs.views import CardView

__all__ = ["RenderedDocument", "DocumentRenderer", "MailText"]


@dataclass(frozen=True)
class MailText:
    """Subject and plain-text body of the email that carries a document."""

    subject: str
    body: str


@dataclass(frozen=True)
class RenderedDocument:
    """A rendered document: its PDF, a file name for it and the context it was made from."""

    kind: str            # invoice, credit_note or statement
    document_id: int     # a statement's organisation id
    reference: str       # the document number, or a statement's period and mode
    filename: str
    html: str
    pdf: bytes
    context: dict[str, Any]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "document"


class DocumentRenderer:
    """Renders invoices, credit notes and statements with the configured templates, locale
    and company details. Cheap to build; one per request or job is fine.

    ``card_lookup(session, invoice_id, today)`` finds the card an auto-billed invoice will be
    charged to (default: :func:`hub.ledger.payment_profiles.profile_to_charge`).
    """

    def __init__(self, settings: HubSettings, *,
                 today: Callable[[], dt.date] | None = None,
                 card_lookup: Callable[[Session, int, dt.date], CardView | None] | None = None,
                 ) -> None:
        self.settings = settings
        self._today = today or dt.date.today
        self._card_lookup = card_lookup or card_to_charge
        self.formatter = Formatter(settings.company.locale)

    @cached_property
    def templates_dir(self) -> Path | None:
        """The configured override folder (relative paths are relative to hub.toml)."""
        folder = self.settings.company.templates_dir
        if folder is None:
            return None
        if not folder.is_absolute() and self.settings.config_file is not None:
            folder = self.settings.config_file.parent / folder
        return folder

    @cached_property
    def env(self) -> Environment:
        """The Jinja2 environment (override folder first, then the packaged templates)."""
        return make_environment(self.formatter, self.templates_dir)

    def _pdf(self, template: str, context: dict[str, Any]) -> tuple[str, bytes]:
        html = render_template(self.env, template, context)
        bases = tuple(d for d in (self.templates_dir, PACKAGED_DIR) if d is not None)
        logo = context["company"].logo
        return html, html_to_pdf(html, base_dirs=bases,
                                 extra_roots=(logo.parent,) if logo is not None else ())

    def invoice(self, session: Session, invoice_id: int) -> RenderedDocument:
        """The PDF of invoice ``invoice_id`` (a draft renders, marked as such)."""
        context = invoice_context(session, self.settings, invoice_id, self._today(),
                                  card_lookup=self._card_lookup)
        view = context["invoice"]
        html, pdf = self._pdf("invoice.html", context)
        name = f"{'proforma' if view.kind == 'proforma' else 'invoice'}-{view.display_number}.pdf"
        return RenderedDocument("invoice", invoice_id, view.display_number, _slug(name), html,
                                pdf, context)

    def credit_note(self, session: Session, credit_note_id: int) -> RenderedDocument:
        """The PDF of credit note ``credit_note_id``."""
        context = credit_note_context(session, self.settings, credit_note_id, self._today())
        view = context["credit_note"]
        html, pdf = self._pdf("credit_note.html", context)
        return RenderedDocument("credit_note", credit_note_id, view.number,
                                _slug(f"credit-note-{view.number}.pdf"), html, pdf, context)

    def statement(self, session: Session, organisation_id: int, start: dt.date, end: dt.date,
                  mode: str = "documents") -> RenderedDocument:
        """The statement PDF of ``organisation_id`` for ``start``..``end`` in ``mode``."""
        context = statement_context(session, self.settings, organisation_id, start, end, mode,
                                    self._today())
        html, pdf = self._pdf("statement.html", context)
        reference = f"{start.isoformat()}..{end.isoformat()} {mode}"
        name = f"statement-{context['customer'].name}-{start.isoformat()}-{end.isoformat()}.pdf"
        return RenderedDocument("statement", organisation_id, reference, _slug(name), html, pdf,
                                context)

    def mail_text(self, document: RenderedDocument) -> MailText:
        """Subject and body from ``mail/<kind>.subject.txt`` and ``mail/<kind>.body.txt``."""
        subject = render_template(self.env, f"mail/{document.kind}.subject.txt",
                                  document.context)
        body = render_template(self.env, f"mail/{document.kind}.body.txt", document.context)
        # A header cannot hold line breaks; the body should end with exactly one.
        return MailText(subject=" ".join(subject.split()), body=body.strip() + "\n")
