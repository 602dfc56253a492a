"""The ``stripe`` library's errors in the hub's terms: retry later, or stop and say why."""

from __future__ import annotations

import stripe

from hub import PermanentError, TransientError

__all__ = ["retry_after_of", "is_transient", "as_hub_error"]

#: When Stripe sends no ``Retry-After``: wait a second (its test-mode limit is per second).
DEFAULT_RETRY_AFTER = 1.0


def retry_after_of(exc: stripe.StripeError) -> float | None:
    """Seconds from the ``Retry-After`` header, if Stripe (or a proxy) sent one."""
    headers = exc.headers or {}
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def is_transient(exc: stripe.StripeError) -> bool:
    """Network failures, 5xx, 409 (lock conflicts) and 429 are worth retrying with the same key."""
    if isinstance(exc, (stripe.APIConnectionError, stripe.RateLimitError)):
        return True
    status = exc.http_status or 0
    return status >= 500 or status in (409, 429)


def as_hub_error(exc: stripe.StripeError, doing: str) -> TransientError | PermanentError:
    """The hub error for a failed call (``doing`` says what we tried, for the message)."""
    message = exc.user_message or str(exc) or type(exc).__name__
    if is_transient(exc):
        return TransientError(f"Stripe could not {doing} now: {message}",
                              retry_after=retry_after_of(exc) or DEFAULT_RETRY_AFTER,
                              hint="the job retries with the same idempotency key")
    if isinstance(exc, stripe.AuthenticationError):
        return PermanentError(f"Stripe refused the API key while trying to {doing}",
                              vendor_message=message,
                              hint="check the connection's api_key (a secret key, sk_...)")
    if isinstance(exc, stripe.IdempotencyError):
        return PermanentError(f"Stripe refused to {doing}: the idempotency key was used before "
                              "with different parameters", vendor_message=message,
                              hint="the invoice changed since that attempt; charge it as a new attempt")
    return PermanentError(f"Stripe refused to {doing}: {message}", vendor_message=message)
