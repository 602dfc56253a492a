"""Users, roles and sessions of the web admin.

- :mod:`hub.access.passwords` — argon2id hashing (argon2-cffi), never a clear password stored;
- :mod:`hub.access.users` — add, list, disable, change password, log in (slowed after wrong
  passwords), and what each role may do;
- :mod:`hub.access.sessions` — signed session cookies (itsdangerous) and CSRF tokens.
"""

from hub.access.passwords import hash_password, verify_password
from hub.access.sessions import SessionSigner, csrf_token_for
from hub.access.users import (
    MAX_FREE_FAILURES, LoginRefused, TooManyAttempts, add_user, allowed, authenticate,
    check_new_user, disable_user, enable_user, get_user, list_users, set_password,
)

__all__ = [
    "hash_password", "verify_password", "SessionSigner", "csrf_token_for", "add_user",
    "check_new_user",
    "allowed", "authenticate", "disable_user", "enable_user", "get_user", "list_users",
    "set_password",
    "LoginRefused", "TooManyAttempts", "MAX_FREE_FAILURES",
]
