"""Structured logs for the long-running processes: one line per event, ids as ``key=value``.

Only ids and counts are ever passed as fields (job, connection, outbox, document, inbox, event
ids); settings, tokens and request bodies never are, so secrets cannot reach the log.
"""

from __future__ import annotations

import json
import logging

__all__ = ["StructuredFormatter", "configure_logging", "FIELDS"]

#: ``extra=`` fields that are appended to a log line when present.
FIELDS = ("job", "job_id", "connection", "outbox_id", "document_kind", "document_id",
          "document_ids", "inbox_ids", "event_id", "slot", "threads", "reason")


class StructuredFormatter(logging.Formatter):
    """``time level logger message key=value ...`` with values as compact JSON."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = [f"{name}={json.dumps(getattr(record, name), default=str, separators=(',', ':'))}"
                  for name in FIELDS if getattr(record, name, None) is not None]
        return f"{line} {' '.join(fields)}" if fields else line


def configure_logging(level: str = "INFO") -> None:
    """Send structured lines to stderr at ``level`` (the hub's ``log_level`` setting)."""
    handler = logging.StreamHandler()
    handler.setFormatter(StructuredFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("hub").setLevel(level)
    # dramatiq logs every retry at INFO with the message repr (which holds only ids).
    logging.getLogger("dramatiq").setLevel(max(logging.getLevelName(level), logging.WARNING))
