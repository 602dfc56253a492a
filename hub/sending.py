"""The document sender the job runtime calls for an outbox row with effect ``send``
(:func:`hub.jobs.adapters.send_invoice` calls :func:`send_document`, which
dispatches on the row's ``document_kind``, so credit notes are sent too).

The implementation lives in :mod:`hub.documents_render.sending`; this module is the stable name.
"""

from hub.documents_render.sending import (
    AUTO_REQUEST, SendOutcome, list_sends, queue_invoice_send, send_credit_note, send_document,
    send_invoice, send_statement, sends_summary,
)

__all__ = ["send_invoice", "send_document", "send_credit_note", "send_statement",
           "queue_invoice_send", "list_sends", "sends_summary", "SendOutcome", "AUTO_REQUEST"]
