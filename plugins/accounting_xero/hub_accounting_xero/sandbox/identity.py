"""Xero's identity server in the sandbox: authorisation codes, access tokens that live 30
minutes, refresh tokens that rotate on every use (the previous one stays usable for a 30-minute
grace period, as Xero documents) and die after 60 days unused, and the /connections list."""

from __future__ import annotations

import base64
import datetime as dt
import secrets
import threading
import uuid
from dataclasses import dataclass, field

from hub.testing.scaled_clock import ScaledClock

__all__ = ["Identity", "ACCESS_TOKEN_SECONDS", "REFRESH_GRACE_SECONDS"]

ACCESS_TOKEN_SECONDS = 1800
REFRESH_GRACE_SECONDS = 1800
REFRESH_UNUSED_SECONDS = 60 * 86_400


@dataclass
class _Refresh:
    client_id: str
    issued: float
    rotated_at: float | None = None
    revoked: bool = False


@dataclass
class _Access:
    client_id: str
    expires: float


@dataclass
class Tenant:
    """A connected Xero organisation as /connections lists it."""

    tenant_id: str
    name: str
    connection_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    connected: bool = True


class Identity:
    """Clients, tenants and tokens of the sandbox's identity server."""

    def __init__(self, clock: ScaledClock) -> None:
        self.clock = clock
        self.clients: dict[str, str] = {}
        self.tenants: dict[str, Tenant] = {}
        self._codes: dict[str, tuple[str, str]] = {}
        self._access: dict[str, _Access] = {}
        self._refresh: dict[str, _Refresh] = {}
        self._lock = threading.Lock()
        self.token_calls = 0

    # ------------------------------------------------------------------------------ set-up
    def add_client(self, client_id: str, secret: str) -> None:
        """Register an app (client id and secret)."""
        self.clients[client_id] = secret

    def add_tenant(self, name: str, tenant_id: str | None = None) -> Tenant:
        """Connect an organisation to the app."""
        tenant = Tenant(tenant_id or str(uuid.uuid4()), name)
        self.tenants[tenant.tenant_id] = tenant
        return tenant

    def issue_code(self, client_id: str, redirect_uri: str) -> str:
        """What the consent page hands back to the redirect URI."""
        code = secrets.token_urlsafe(16)
        self._codes[code] = (client_id, redirect_uri)
        return code

    def revoke_app(self) -> None:
        """The user disconnected the app: every token stops working."""
        with self._lock:
            for r in self._refresh.values():
                r.revoked = True
            self._access.clear()
            for t in self.tenants.values():
                t.connected = False

    # ------------------------------------------------------------------------------ tokens
    def _issue(self, client_id: str) -> dict[str, object]:
        now = self.clock.seconds()
        access = "sbx-at-" + secrets.token_urlsafe(24)
        refresh = "sbx-rt-" + secrets.token_urlsafe(24)
        self._access[access] = _Access(client_id, now + ACCESS_TOKEN_SECONDS)
        self._refresh[refresh] = _Refresh(client_id, now)
        return {"id_token": "sandbox", "access_token": access, "expires_in": ACCESS_TOKEN_SECONDS,
                "token_type": "Bearer", "refresh_token": refresh,
                "scope": "openid offline_access accounting.transactions accounting.contacts"}

    def _client(self, authorization: str | None, form: dict[str, str]) -> str | None:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if authorization and authorization.lower().startswith("basic "):
            raw = base64.b64decode(authorization.split(" ", 1)[1]).decode()
            client_id, _, secret = raw.partition(":")
        if client_id and self.clients.get(client_id) == secret:
            return client_id
        return None

    def token(self, authorization: str | None, form: dict[str, str]) -> tuple[int, dict]:
        """The token endpoint: ``authorization_code`` and ``refresh_token`` grants."""
        with self._lock:
            self.token_calls += 1
            client_id = self._client(authorization, form)
            if client_id is None:
                return 400, {"error": "invalid_client"}
            grant = form.get("grant_type")
            if grant == "authorization_code":
                found = self._codes.pop(form.get("code", ""), None)
                if found is None or found != (client_id, form.get("redirect_uri")):
                    return 400, {"error": "invalid_grant"}
                return 200, self._issue(client_id)
            if grant == "refresh_token":
                now = self.clock.seconds()
                r = self._refresh.get(form.get("refresh_token", ""))
                if (r is None or r.revoked or r.client_id != client_id
                        or now - r.issued > REFRESH_UNUSED_SECONDS
                        or (r.rotated_at is not None and now - r.rotated_at > REFRESH_GRACE_SECONDS)):
                    return 400, {"error": "invalid_grant"}
                if r.rotated_at is None:
                    r.rotated_at = now
                return 200, self._issue(client_id)
            return 400, {"error": "unsupported_grant_type"}

    def check_access(self, authorization: str | None) -> tuple[str | None, str | None]:
        """(client id, None) for a live bearer token, else (None, Xero's 401 detail)."""
        if not authorization or not authorization.startswith("Bearer "):
            return None, "AuthenticationUnsuccessful"
        a = self._access.get(authorization[7:])
        if a is None:
            return None, "AuthenticationUnsuccessful"
        if self.clock.seconds() >= a.expires:
            return None, "TokenExpired: token expired"
        return a.client_id, None

    def connections(self) -> list[dict[str, object]]:
        """The /connections answer: every organisation still connected."""
        stamp = self.clock.now().replace(tzinfo=None).isoformat(timespec="seconds")
        return [{"id": t.connection_id, "authEventId": t.connection_id, "tenantId": t.tenant_id,
                 "tenantType": "ORGANISATION", "tenantName": t.name,
                 "createdDateUtc": stamp, "updatedDateUtc": stamp}
                for t in self.tenants.values() if t.connected]

    def now(self) -> dt.datetime:
        """Sandbox time."""
        return self.clock.now()
