"""Structured logs for the long-running processes: one line per event, ids as ``key=value``,
or one JSON object per line with ``HUB_LOG_FORMAT=json`` (for log shippers).

Only ids and counts are ever passed as fields (job, connection, outbox, document, inbox, event
ids); settings, tokens and request bodies never are, so secrets cannot reach the log.
"""

from __future__ import annotations

import json
import logging

__all__ = ["StructuredFormatter", "JsonFormatter", "configure_logging", "FIELDS"]

#: ``extra=`` fields that are appended to a log line when present.
FIELDS = ("job", "job_id", "connection", "outbox_id", "document_kind", "document_id",
          "document_ids", "inbox_ids", "event_id", "slot", "threads", "reason", "hub_process",
          "config")


class StructuredFormatter(logging.Formatter):
    """``time level logger message key=value ...`` with values as compact JSON."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = [f"{name}={json.dumps(getattr(record, name), default=str, separators=(',', ':'))}"
                  for name in FIELDS if getattr(record, name, None) is not None]
        return f"{line} {' '.join(fields)}" if fields else line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the id fields present, and the
    exception's traceback as one string."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}",
                 "level": record.levelname, "logger": record.name,
                 "message": record.getMessage()}
        entry.update({name: getattr(record, name) for name in FIELDS
                      if getattr(record, name, None) is not None})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, separators=(",", ":"))


def configure_logging(level: str = "INFO", fmt: str = "text") -> None:
    """Send log lines to stderr at ``level`` (the hub's ``log_level`` setting), as
    ``key=value`` text or, with ``fmt="json"`` (``HUB_LOG_FORMAT=json``), JSON objects."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else StructuredFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("hub").setLevel(level)
    # dramatiq logs every retry at INFO with the message repr (which holds only ids).
    logging.getLogger("dramatiq").setLevel(max(logging.getLevelName(level), logging.WARNING))
