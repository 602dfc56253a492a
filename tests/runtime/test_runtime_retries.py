"""Backoff with jitter that honours Retry-After; transient versus permanent classification."""

from __future__ import annotations

import random

import httpx

from hub.errors import PermanentError, TransientError
from hub.jobs.retries import backoff_seconds, classify
from hub.jobs.settings import JobSettings

SETTINGS = JobSettings(min_backoff_seconds=1, max_backoff_seconds=60)


def test_backoff_grows_with_jitter_and_is_capped():
    rng = random.Random(1)
    for attempt, ceiling in [(1, 1), (2, 2), (3, 4), (6, 32), (7, 60), (30, 60)]:
        delays = [backoff_seconds(attempt, SETTINGS, rng=rng) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 100  # jittered, not one value


def test_retry_after_is_a_floor():
    assert backoff_seconds(1, SETTINGS, retry_after=30) >= 30
    assert backoff_seconds(1, SETTINGS, retry_after=120) >= 120  # beyond the cap if asked


def test_classification():
    assert classify(PermanentError("bad", vendor_message="Total is wrong")).permanent
    assert classify(PermanentError("bad", vendor_message="Total is wrong")).message == "Total is wrong"
    transient = classify(TransientError("429", retry_after=7))
    assert not transient.permanent and transient.retry_after == 7
    assert not classify(httpx.ConnectTimeout("slow")).permanent
    assert not classify(RuntimeError("bug")).permanent
