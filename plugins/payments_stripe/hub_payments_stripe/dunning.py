"""Dunning: after a declined auto-charge, when to try again, or when to stop (pure, no I/O).

The plugin owns the schedule (it is part of the Stripe connection's settings) and tells the host
through the charge outcome: a ``declined`` :class:`hub.ChargeOutcome` carries ``retry_after``
seconds until the next attempt, or ``None`` when trying again cannot help.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from hub_payments_stripe.settings import DunningSettings

__all__ = ["DunningStep", "next_step", "HARD_DECLINES", "SECONDS_PER_DAY"]

SECONDS_PER_DAY = 86_400

#: Decline codes where the same card will fail again: stop at once and ask for a new card
#: (Stripe's decline-code guide: "the customer needs to use another card").
HARD_DECLINES = frozenset({
    "authentication_required", "card_not_supported", "currency_not_supported", "expired_card",
    "fraudulent", "incorrect_number", "invalid_account", "lost_card", "merchant_blacklist",
    "pickup_card", "restricted_card", "revocation_of_all_authorizations",
    "revocation_of_authorization", "security_violation", "stolen_card", "stop_payment_order",
})


@dataclass(frozen=True)
class DunningStep:
    """What to do after a failed attempt: ``retry_on`` a date, or stop (``retry_on`` is None)."""

    attempt: int
    retry_on: dt.date | None
    wait_days: int | None
    reason: str

    @property
    def stop(self) -> bool:
        """True when no further automatic attempt will be made."""
        return self.retry_on is None


def next_step(attempt: int, failed_on: dt.date, settings: DunningSettings, *,
              decline_code: str | None = None) -> DunningStep:
    """After attempt number ``attempt`` (counting from 1) failed on ``failed_on``.

    >>> s = DunningSettings(retry_days=(3, 5), max_attempts=4)
    >>> [next_step(n, dt.date(2026, 11, 1), s).wait_days for n in (1, 2, 3, 4)]
    [3, 5, 5, None]
    """
    if attempt < 1:
        raise ValueError(f"attempt numbers count from 1, got {attempt}")
    if decline_code in HARD_DECLINES:
        return DunningStep(attempt, None, None,
                           f"declined with {decline_code}: the same card will not work again; "
                           "ask the organisation for a new payment method")
    if attempt >= settings.max_attempts:
        return DunningStep(attempt, None, None,
                           f"attempt {attempt} of {settings.max_attempts} failed: no more automatic "
                           "retries; collect the payment another way")
    days = settings.retry_days[min(attempt, len(settings.retry_days)) - 1]
    return DunningStep(attempt, failed_on + dt.timedelta(days=days), days,
                       f"attempt {attempt} of {settings.max_attempts} failed; next on day +{days}")
