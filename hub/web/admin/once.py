"""Money forms that do their work once, however often they are sent.

A clerk who presses Back and sends the form again, a browser that resends a POST on reload,
a double click with JavaScript off: each sends a money form again. So every rendering of a
money form (record a payment, credit an invoice, refund a payment) carries a fresh one-time
key in its hidden field ``once_key`` (``_once.html``), and its route does its work through
:func:`sent_once`, which keeps the key in the REST API's store (:mod:`hub.web.idempotency`)
**in the work's own transaction**:

- the first POST with a key does the work and stores its outcome with the key: both commit,
  or neither does;
- a later POST with the key does nothing and leads to the page the first one led to, saying
  that it was already done (the form was sent twice);
- a refused POST (a bad amount, a refusal of the ledger) stores nothing: corrected, the same
  rendering of the form may be sent again;
- a key is the form's at one address (``POST /admin/invoices/7/payments``): sent to another
  form, or to the same form of another document, it is refused, never answered with the
  first form's outcome;
- no key, or one this hub does not make (a page from before this, a hand-made request): the
  page says to reload.

The pages are never cached (``no-store``), so Back fetches the form page again, with a new
key; ``admin.js`` keeps the key a form was sent with in that page's history entry and puts it
back, so that Back-and-send-again is answered "already done" too.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import asdict, dataclass
from typing import Callable
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse
from sqlmodel import Session

from hub.errors import ValidationFailed
from hub.web.idempotency import RequestInProgress, claim_key, store_answer

__all__ = ["Outcome", "form_key", "new_key", "sent_once"]

#: What :func:`new_key` makes (32 random bytes, URL-safe base64 without padding). Anything else
#: was not made by this hub; a key of this shape made up by hand is just another new key.
_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")
_RELOAD = "reload the page and send the form again from it"
#: The status kept with a form's outcome: a form is answered with a redirect to a page.
_REDIRECT = 303


def new_key() -> str:
    """A fresh one-time key for one rendering of a money form (the templates' ``once_key()``)."""
    return secrets.token_urlsafe(32)


def form_key(value: str) -> str:
    """The key a form was sent with; refused (nothing done) if it has none or not one of ours."""
    if not value:
        raise ValidationFailed("the form was sent without its one-time key, so it cannot be "
                               "kept from being recorded twice; nothing was done", hint=_RELOAD)
    if not _SHAPE.fullmatch(value):
        raise ValidationFailed("the form's one-time key is not one this hub makes; nothing "
                               "was done", hint=_RELOAD)
    return value


@dataclass(frozen=True)
class Outcome:
    """What a money form did: the ``page`` it leads to, what that page tells the clerk
    (``done``), and what it tells a clerk whose form was sent again (``again``)."""

    page: str
    done: str
    again: str


def _redirect(page: str, notice: str) -> RedirectResponse:
    return RedirectResponse(f"{page}?{urlencode({'done': notice})}", status_code=_REDIRECT)


def sent_once(request: Request, session: Session, key: str,
              work: Callable[[], Outcome]) -> RedirectResponse:
    """``work()`` done in ``session`` and its outcome stored with ``key`` there (``session``
    must be the transaction ``work`` writes in); or, if this form was sent with ``key``
    before, a redirect to where that led, saying so, without calling ``work``."""
    route = f"{request.method} {request.scope['route'].path_format}"
    # The form's address (which form, which document), not its fields: a form sent again is
    # answered with what it did, even if its fields were changed on the way back.
    address = hashlib.sha256(f"{request.method} {request.url.path}\n".encode()).hexdigest()
    try:
        earlier = claim_key(session, key, route=route, request_hash=address,
                            caller=f"user:{request.state.user.username}",
                            now=request.app.state.ctx.clock())
    except RequestInProgress:
        raise RequestInProgress("this form is still being sent (the first time it was sent "
                                "has not finished)", hint="wait a moment, then open the page "
                                "again to see what was done") from None
    if earlier is None:
        outcome = work()
        store_answer(session, key, _REDIRECT, asdict(outcome))
        return _redirect(outcome.page, outcome.done)
    if (earlier.route, earlier.request_hash) != (route, address):
        raise ValidationFailed("this form's one-time key was already used by another form "
                               "(another document's, or another kind); nothing was done",
                               hint=_RELOAD)
    return _redirect(earlier.response["page"], earlier.response["again"])
