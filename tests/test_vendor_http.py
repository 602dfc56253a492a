"""hub.sources.vendor_http: failures mapped to the error tree, per-connection rate limit, token cache."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from pydantic import BaseModel

from hub import PermanentError, TransientError
from hub.contract.connections import Connection
from hub.sources.vendor_http import RateLimiter, TokenCache, VendorHttp


class _S(BaseModel):
    pass


def _connection(clock=None):
    return Connection(name="v", plugin="x", settings=_S(),
                      clock=clock or (lambda: dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)))


def _http(handler, **kwargs):
    return VendorHttp(_connection(), "https://vendor.example", vendor="Vendor",
                      transport=httpx.MockTransport(handler), **kwargs)


def test_429_and_5xx_are_transient_with_retry_after():
    http = _http(lambda r: httpx.Response(429, headers={"Retry-After": "7"}, json={}))
    with pytest.raises(TransientError) as err:
        http.get("/x")
    assert err.value.retry_after == 7
    with pytest.raises(TransientError):
        _http(lambda r: httpx.Response(502, text="bad gateway")).get("/x")


def test_timeouts_are_transient():
    def handler(request):
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(TransientError, match="timed out"):
        _http(handler).get("/x")


def test_4xx_is_permanent_with_the_vendor_message():
    http = _http(lambda r: httpx.Response(400, json={"message": "size must be <= 200"}))
    with pytest.raises(PermanentError) as err:
        http.get("/x")
    assert err.value.vendor_message == "size must be <= 200"


def test_a_401_refreshes_the_token_once():
    seen = []

    def auth(force):
        seen.append(force)
        return {"Authorization": "Bearer new" if force else "Bearer old"}

    def handler(request):
        ok = request.headers["authorization"] == "Bearer new"
        return httpx.Response(200 if ok else 401, json={"ok": ok})

    assert _http(handler, auth_headers=auth).get("/x") == {"ok": True}
    assert seen == [False, True]


def test_the_rate_limiter_waits_for_the_window():
    now = [0.0]
    waits = []

    def sleep(seconds):
        waits.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(2, clock=lambda: now[0], sleep=sleep)
    limiter.acquire()
    now[0] = 10
    limiter.acquire()
    limiter.acquire()  # third call inside the minute waits until the first leaves the window
    assert waits == [50.0]


def test_the_token_cache_reuses_until_shortly_before_expiry():
    moment = [dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)]
    logins = []
    connection = _connection(lambda: moment[0])

    def fetch():
        logins.append(moment[0])
        return f"t{len(logins)}", 3600

    cache = TokenCache(connection, fetch)
    assert cache.token() == "t1" and cache.token() == "t1"
    moment[0] += dt.timedelta(minutes=59)  # within the refresh margin
    assert cache.token() == "t2" and len(logins) == 2
