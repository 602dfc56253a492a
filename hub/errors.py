"""Every error the hub raises on purpose, in one tree.

::

    HubError                      anything the hub refuses; .hint says what to do instead
    ├── ConfigError               hub.toml or the environment is wrong (names key, file, line)
    ├── PluginError               a plugin failed to load or broke the contract (names plugin)
    ├── NotFound                  an id that does not exist
    ├── ValidationFailed          input rejected before anything was stored
    ├── DocumentRefused           a document may not change this way
    │   ├── EditNotAllowed        its status forbids editing that field
    │   ├── DocumentLocked        it is synced to accounting: credit it instead
    │   └── DocumentDeleted       it is deleted and never comes back
    ├── ConnectorError            an external system failed
    │   ├── TransientError        worth retrying (timeout, 5xx, 429); .retry_after seconds
    │   └── PermanentError        retrying will not help (validation); .vendor_message
    └── WebhookRejected           bad signature, malformed or oversized body (answered 4xx)

The CLI and the web API turn these into one-line messages at a single boundary; anything else is
a bug and keeps its traceback (``--debug`` shows it for these too).
"""

from __future__ import annotations


class HubError(Exception):
    """Base of all deliberate refusals. ``hint`` tells the user what to do instead."""

    hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint

    def user_message(self) -> str:
        """The one line shown to a person: the problem, then the fix."""
        text = str(self)
        return f"{text} — {self.hint}" if self.hint else text


class ConfigError(HubError):
    """The configuration is wrong; the message names the key, file and line where known."""


class PluginError(HubError):
    """A plugin failed to import, misspelt a hook or broke the contract; names the plugin."""


class NotFound(HubError):
    """No such record."""


class ValidationFailed(HubError):
    """Input was rejected before anything was stored."""


class DocumentRefused(HubError):
    """A document may not be changed this way."""


class EditNotAllowed(DocumentRefused):
    """The document's status forbids editing the named fields."""


class DocumentLocked(DocumentRefused):
    """The document is synced to accounting; only a credit note can correct it."""


class DocumentDeleted(DocumentRefused):
    """The document is deleted; deleted documents never come back."""


class ConnectorError(HubError):
    """An external system failed."""


class TransientError(ConnectorError):
    """Worth retrying later: timeouts, connection errors, 5xx, 429."""

    def __init__(self, message: str, *, retry_after: float | None = None,
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.retry_after = retry_after


class PermanentError(ConnectorError):
    """Retrying will not help: the vendor rejected the request (its message is kept)."""

    def __init__(self, message: str, *, vendor_message: str | None = None,
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.vendor_message = vendor_message or message


class WebhookRejected(HubError):
    """A webhook failed its signature check or was malformed; ``status_code`` is the 4xx."""

    def __init__(self, message: str, *, status_code: int = 400) -> None:
        super().__init__(message)
        self.status_code = status_code
