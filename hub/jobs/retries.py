"""Transient versus permanent failure, and how long to wait before trying again.

- :class:`hub.errors.TransientError` (and connection-level ``httpx`` errors a plugin let
  through): retried with exponential backoff and full jitter, never sooner than the vendor's
  ``Retry-After``;
- :class:`hub.errors.PermanentError`: stop at once, keep the vendor's message;
- anything else is a bug in our code or a plugin: retried like a transient error (a database
  hiccup looks the same) but recorded with its type so it can be found.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import httpx

from hub.errors import PermanentError, TransientError
from hub.jobs.settings import JobSettings

__all__ = ["Failure", "classify", "backoff_seconds"]


@dataclass(frozen=True)
class Failure:
    """A classified failure: ``permanent`` stops retries; ``retry_after`` is the vendor's wish."""

    permanent: bool
    message: str
    retry_after: float | None = None


def classify(exc: BaseException) -> Failure:
    """Turn an exception raised by a hook into a :class:`Failure`."""
    if isinstance(exc, PermanentError):
        return Failure(True, exc.vendor_message or str(exc))
    if isinstance(exc, TransientError):
        return Failure(False, str(exc), exc.retry_after)
    if isinstance(exc, httpx.TransportError):
        return Failure(False, f"{type(exc).__name__}: {exc}")
    return Failure(False, f"unexpected {type(exc).__name__}: {exc}")


def backoff_seconds(attempt: int, settings: JobSettings, retry_after: float | None = None,
                    rng: random.Random | None = None) -> float:
    """Delay before attempt ``attempt + 1`` (``attempt`` counts from 1).

    Exponential (``min * 2**(attempt-1)`` capped at ``max``) with jitter in its upper half, so a
    burst of failures does not come back as a burst; at least ``retry_after`` when given.
    """
    rng = rng or random
    ceiling = min(settings.max_backoff_seconds,
                  settings.min_backoff_seconds * (2 ** max(attempt - 1, 0)))
    delay = ceiling / 2 + rng.random() * ceiling / 2
    if retry_after is not None:
        delay = max(delay, float(retry_after))
    return delay
