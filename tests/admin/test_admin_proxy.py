"""Behind a reverse proxy that terminates TLS: the session cookie is marked Secure when the
proxy is one of ``web.trusted_proxies`` and says ``X-Forwarded-Proto: https``, and a sender
that is not trusted cannot make the hub believe the connection was https."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from hub.access.sessions import SESSION_COOKIE
from hub.testing import free_port
from hub.web.server import make_server


def _login_page_cookie(ctx) -> str:
    """The session cookie the login page sets, asked through a running server over HTTP as a
    proxy on this machine would ask, forwarding an https request."""
    port = free_port()
    server = make_server(ctx, host="127.0.0.1", port=port)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)
        answer = httpx.get(f"http://127.0.0.1:{port}/admin/login", headers={
            "X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"})
        assert answer.status_code == 200
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith(f"{SESSION_COOKIE}=")
        return cookie.lower()
    finally:
        server.should_exit = True
        thread.join(timeout=20)


@pytest.mark.parametrize("trusted, secure", [(["127.0.0.1"], True), (["10.0.0.0/8"], False),
                                             ([], False)])
def test_the_cookie_is_secure_only_when_a_trusted_proxy_forwards_https(admin_ctx, trusted,
                                                                        secure):
    admin_ctx.settings.web.trusted_proxies = trusted
    cookie = _login_page_cookie(admin_ctx)
    assert ("; secure" in cookie) is secure
    assert "httponly" in cookie and "samesite=lax" in cookie
