"""Step 4: the dunning schedule is a pure function of the attempt number and the settings."""

import datetime as dt

import pytest

from hub_payments_stripe.dunning import HARD_DECLINES, next_step
from hub_payments_stripe.settings import DunningSettings

DAY = dt.date(2026, 11, 1)


def test_default_schedule_waits_3_5_7_then_stops():
    s = DunningSettings()
    steps = [next_step(n, DAY, s) for n in (1, 2, 3, 4)]
    assert [st.retry_on for st in steps] == [dt.date(2026, 11, 4), dt.date(2026, 11, 6),
                                             dt.date(2026, 11, 8), None]
    assert steps[-1].stop and "4 of 4" in steps[-1].reason


def test_last_wait_repeats_when_the_list_is_short():
    s = DunningSettings(retry_days=(2,), max_attempts=5)
    assert [next_step(n, DAY, s).wait_days for n in range(1, 6)] == [2, 2, 2, 2, None]


@pytest.mark.parametrize("code", sorted(HARD_DECLINES))
def test_hard_declines_stop_at_once(code):
    step = next_step(1, DAY, DunningSettings(), decline_code=code)
    assert step.stop and code in step.reason


def test_soft_decline_keeps_the_schedule():
    assert next_step(1, DAY, DunningSettings(), decline_code="insufficient_funds").wait_days == 3


def test_attempts_count_from_one():
    with pytest.raises(ValueError):
        next_step(0, DAY, DunningSettings())
