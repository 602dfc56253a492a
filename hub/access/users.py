"""Users and roles: the services behind ``hub user ...`` and the login form.

Logging in is slowed after repeated wrong passwords: the first :data:`MAX_FREE_FAILURES`
failures cost nothing, then each further failure locks the account for twice as long as the
last (``BASE_LOCK_SECONDS`` doubling up to ``MAX_LOCK_SECONDS``). The counter lives on the user
row so every web replica sees it; a correct password resets it.
"""

from __future__ import annotations

import datetime as dt
import functools
import re

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from hub import audit
from hub.access.passwords import MIN_PASSWORD_LENGTH, hash_password, needs_rehash, verify_password
from hub.db.engine import session_scope
from hub.db.models.access import Role, User
from hub.errors import EditNotAllowed, HubError, NotFound, ValidationFailed

__all__ = ["add_user", "check_new_user", "list_users", "disable_user", "enable_user", "set_password", "get_user", "authenticate",
           "allowed", "LoginRefused", "TooManyAttempts", "MAX_FREE_FAILURES", "ROLE_RANK"]

#: Wrong passwords allowed before logging in is slowed down.
MAX_FREE_FAILURES = 5
#: First lock after the free failures, doubled on each further failure, capped.
BASE_LOCK_SECONDS = 2
MAX_LOCK_SECONDS = 15 * 60

#: Roles in order of power: each may do everything the ones below it may.
ROLE_RANK = {Role.viewer: 0, Role.approver: 1, Role.admin: 2}


class LoginRefused(HubError):
    """Wrong username or password, or a disabled user (one message for all: no hint which)."""


class TooManyAttempts(HubError):
    """Too many wrong passwords: wait ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many wrong passwords; try again in {retry_after} seconds")
        self.retry_after = retry_after


def allowed(role: Role | str, needed: Role | str) -> bool:
    """True when ``role`` may do what ``needed`` may."""
    return ROLE_RANK[Role(role)] >= ROLE_RANK[Role(needed)]


def _parse_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise ValidationFailed(f"unknown role {role!r}",
                               hint="use one of: " + ", ".join(r.value for r in Role)) from None


#: What a new username may hold: letters, digits and ``. _ - @ +`` (an e-mail address is a
#: fine username). Not ``/ ? # % &`` or ``<``: a name is part of the admin's addresses and
#: pages, and one that needs quoting everywhere is a name someone will get wrong.
_USERNAME = re.compile(r"[\w.@+-]{1,100}")


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(f"the password is shorter than {MIN_PASSWORD_LENGTH} characters",
                               hint="choose a longer one (a few words make a good password)")
    if not password.strip():
        raise ValidationFailed("the password is only spaces",
                               hint="choose one with words in it (a few words make a good "
                                    "password)")


def _check_username(session: Session, username: str) -> str:
    """``username`` stripped, if it is well formed and free in any case: ``Bob`` and ``bob``
    would be two accounts that people, and the audit trail's readers, take for one."""
    name = username.strip()
    # at least one letter or digit: "." and ".." are path segments a browser resolves away
    if not _USERNAME.fullmatch(name) or not any(c.isalnum() for c in name):
        raise ValidationFailed(f"{name[:40]!r} is not a valid username",
                               hint="use 1 to 100 letters, digits and . _ - @ + (no spaces), "
                                    "with at least one letter or digit")
    wanted = name.casefold()
    for (other,) in session.execute(select(User.username)):
        if other.casefold() == wanted:
            raise ValidationFailed(f"a user named {other!r} already exists",
                                   hint="choose another name, or `hub user passwd` to reset it")
    return name


def get_user(session: Session, username: str) -> User:
    """The user called ``username``."""
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"no user {username!r}", hint="list users with `hub user list`")
    return user


def check_new_user(session: Session, username: str, role: str = "viewer") -> tuple[str, Role]:
    """The stripped name and the role of a user that may be added, else the refusal: what a
    caller asks for the password only after (no one types a password twice for a name or a
    role that is then refused)."""
    return _check_username(session, username), _parse_role(role)


def add_user(session: Session, username: str, password: str, role: str = "viewer") -> User:
    """Create a user; the password is stored only as an argon2 hash."""
    username, parsed = check_new_user(session, username, role)
    _check_password(password)
    user = User(username=username, role=parsed, password_hash=hash_password(password))
    session.add(user)
    session.flush()
    audit.record(session, "user.added", "user", username, summary=f"role {parsed.value}")
    return user


def list_users(session: Session) -> list[User]:
    """Every user, by name."""
    return list(session.execute(select(User).order_by(User.username)).scalars())


def disable_user(session: Session, username: str, *, now: dt.datetime) -> User:
    """Disable a user: they cannot log in and their open sessions stop working."""
    user = get_user(session, username)
    if user.disabled_at is not None:
        raise EditNotAllowed(f"user {username!r} is already disabled",
                             hint=f"`hub user enable {username}` lets them log in again")
    user.disabled_at = now
    user.session_version += 1
    audit.record(session, "user.disabled", "user", username)
    return user


def enable_user(session: Session, username: str) -> User:
    """Let a disabled user log in again (with the password they had; the wrong-password count
    starts afresh)."""
    user = get_user(session, username)
    if user.disabled_at is None:
        raise EditNotAllowed(f"user {username!r} is not disabled",
                             hint="list users and their state with `hub user list`")
    user.disabled_at = None
    user.failed_logins, user.locked_until = 0, None
    audit.record(session, "user.enabled", "user", username)
    return user


def set_password(session: Session, username: str, password: str) -> User:
    """Change a user's password; every open session of theirs ends."""
    _check_password(password)
    user = get_user(session, username)
    user.password_hash = hash_password(password)
    user.session_version += 1
    user.failed_logins, user.locked_until = 0, None
    audit.record(session, "user.password_changed", "user", username)
    return user


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    # SQLite hands timestamps back naive; they were written in UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value


def authenticate(engine: Engine, username: str, password: str, *, now: dt.datetime) -> User:
    """The active user for ``username``/``password``; raises :class:`TooManyAttempts` while the
    account is locked and :class:`LoginRefused` for a wrong name or password.

    Opens its own transaction: a failure is counted (committed) before the refusal is raised."""
    refusal: HubError | None = None
    with session_scope(engine) as session:
        user = session.execute(select(User).where(User.username == username)
                               .with_for_update()).scalar_one_or_none()
        if user is None:
            # Hash anyway, so an unknown name takes as long as a wrong password.
            verify_password(_dummy_hash(), password)
            raise LoginRefused("wrong username or password")
        locked_until = _aware(user.locked_until)
        if locked_until is not None and locked_until > now:
            raise TooManyAttempts(max(1, int((locked_until - now).total_seconds() + 0.999)))
        if not verify_password(user.password_hash, password) or user.disabled_at is not None:
            user.failed_logins += 1
            extra = user.failed_logins - MAX_FREE_FAILURES
            if extra > 0:
                seconds = min(MAX_LOCK_SECONDS, BASE_LOCK_SECONDS * 2 ** (extra - 1))
                user.locked_until = now + dt.timedelta(seconds=seconds)
            refusal = LoginRefused("wrong username or password")
        else:
            user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
            if needs_rehash(user.password_hash):
                user.password_hash = hash_password(password)
            session.flush()
            session.expunge(user)
    if refusal is not None:
        raise refusal
    return user


@functools.cache
def _dummy_hash() -> str:
    return hash_password("not a real password, only to spend the same time")
