"""The demo's web admin users: one per role, with a published demo password.

Only for the demo's throwaway data: the summary prints the password so the admin can be opened
on the demo month at once.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from hub.db.engine import session_scope

__all__ = ["DEMO_USERS", "DEMO_PASSWORD", "create_demo_users"]

#: username -> role
DEMO_USERS = {"demo-admin": "admin", "demo-approver": "approver", "demo-viewer": "viewer"}
#: The demo users' password (the demo data is local and thrown away on the next run).
DEMO_PASSWORD = "demo-password"


def create_demo_users(engine: Engine) -> None:
    """Add the demo users (the demo starts from an empty database every time)."""
    from hub.access import add_user

    with session_scope(engine) as session:
        for username, role in DEMO_USERS.items():
            add_user(session, username, DEMO_PASSWORD, role)
