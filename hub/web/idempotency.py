"""The ``Idempotency-Key`` header of the routes that record money or create records: a request
sent again gets the first one's answer instead of recording the money (or the record) twice.

A client that posts a payment and loses the answer (a timeout, a dropped connection) cannot know
whether the payment was recorded. With a key — any 1–255 printable ASCII characters, a new one
(e.g. a UUID) per request, the same one when sending that request again — it may simply repeat:

- the first request runs as without a key; its answer (status and JSON body) is stored with the
  key, the route and a hash of the method, path and body **in the transaction of its work**, so
  the work and the stored answer are committed together or not at all (a refused or failed
  request stores nothing: nothing was done, and sending it again runs it again);
- a later request with the key and the same method, path and body gets the stored answer back
  (with ``Idempotent-Replayed: true``) and changes nothing; with another route or body it is
  refused (422): a key is for one request, as at Stripe;
- two requests with one key at the same moment: the key is unique and claimed first thing in
  the transaction. On PostgreSQL the second insert waits for the first transaction and, once
  that commits, finds its row and answers with its stored answer (or 409 if it waited
  :data:`WAIT_SECONDS` in vain); on SQLite the hub's engine begins every transaction with
  ``BEGIN IMMEDIATE``, so the second request only starts once the first has committed;
- keys are global to the hub (one hub is one MSP) and forgotten after :data:`KEEP`: each stored
  key deletes a few expired ones, so no background job is needed.

Written here rather than taken from a library: the FastAPI idempotency packages are middleware
with their own store (memory, Redis, their own table and connection), and the point of the key
is that it commits with the ledger's own transaction.

A route uses it as::

    @router.post("/payments", status_code=201)
    def add_payment(body: PaymentIn, once: Keyed, ctx: HubContext = Depends(get_context)):
        with _session(ctx) as session:
            return once.run(session, lambda: record(session, body))

(``Keyed`` is ``Annotated[Once, Depends(once_per_key)]``.) The routes that take it: those that
record money (payments, refunds of payments and of credit, allocations, credit notes, paying an
invoice), those whose repeat would create a record twice (pre-bills, WIP and attaching it,
draft invoices and their lines, organisations, a proforma's conversion, a ticket's invoice), a
contract cycle's invoice, one contract's or many's (a repeat without a key would invoice the
next cycle; many contracts are each invoiced and keyed on their own, :meth:`Once.part`) and
sending an invoice by email, whose repeat would email the customer twice. The web admin's
money forms keep their one-time keys in the same store through :func:`claim_key` and
:func:`store_answer` (:mod:`hub.web.admin.once`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Annotated, Any, Callable, Iterator, Optional

from fastapi import Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import delete, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from hub.db.models.api_tokens import ApiToken
from hub.db.models.idempotency import IdempotencyKey
from hub.errors import DocumentRefused, ValidationFailed
from hub.host.context import HubContext
from hub.web.deps import get_context, require_token

__all__ = ["HEADER", "KEEP", "Keyed", "Once", "RequestInProgress", "REPLAYED", "once_per_key",
           "Earlier",
           "claim_key", "store_answer"]

#: The header's name, as Stripe spells it.
HEADER = "Idempotency-Key"
#: The longest key (Stripe's limit too): long enough for any UUID or request id.
MOST = 255
#: Printable ASCII, space to tilde: what any client can send in a header unchanged.
_PRINTABLE = re.compile(r"[\x20-\x7e]+")
#: How long a key is remembered; after that, a request with it is a new request.
KEEP = dt.timedelta(hours=24)
#: PostgreSQL: how long a request waits for a running request with its key before a 409.
WAIT_SECONDS = 10.0
#: Expired keys deleted by each stored key: a bounded cost per request that still outpaces
#: the one key it adds.
SWEEP_BATCH = 100
#: PostgreSQL's SQLSTATE for "lock_timeout ran out" (lock_not_available).
_LOCK_NOT_AVAILABLE = "55P03"

_TO_SEND = (f"send a new {HEADER} (1 to {MOST} printable ASCII characters, e.g. a UUID) with "
            "each request, and the same key only when repeating that very request")
_DOCUMENTED = (f"Optional. A new key per request ({HEADER}: 1–{MOST} printable ASCII "
               "characters, e.g. a UUID); send the same request again with the same key and it "
               "is answered with the first answer instead of being recorded twice. Keys are "
               "remembered for 24 hours; one used for another request is refused (422).")


class RequestInProgress(DocumentRefused):
    """Another request with this key is still running (answered 409, as the hub's other
    refusals of a state are: repeat it shortly and get its answer)."""


@dataclass(frozen=True)
class Once:
    """One request's idempotency key (``key`` None: no header, the request runs as always)."""

    key: Optional[str]
    route: str
    request_hash: str
    token_name: str
    status_code: int
    clock: Callable[[], dt.datetime]
    #: The key as the client sent it, for messages (a :meth:`part` stores a key of its own)
    shown: Optional[str] = None

    def run(self, session: Session, work: Callable[[], Any]) -> Any:
        """``work()``'s answer, stored with the key in ``session``'s transaction; or, if the
        key was already used for this request, the stored answer (a ``JSONResponse``) without
        calling ``work``. ``session`` must be the transaction ``work`` writes in: that is what
        makes the answer and the work commit together."""
        if self.key is None:
            return work()
        earlier = self._claim(session)
        if earlier is not None:
            return _replayed(earlier)
        return self._do(session, work)

    def outcome(self, session: Session, work: Callable[[], Any]) -> tuple[Any, bool]:
        """As :meth:`run`, for one part of a request's answer: the JSON itself, and whether
        it is the stored one (True) rather than ``work()``'s."""
        if self.key is None:
            return work(), False
        earlier = self._claim(session)
        if earlier is not None:
            return earlier.response, True
        return self._do(session, work), False

    def earlier(self, session: Session) -> Optional["Earlier"]:
        """The key's first use if it has already served this request (refused if it served
        another), else None; takes nothing. For a route that works out what it will store
        before its storing transaction opens (a contract's invoice, whose counters run with no
        transaction open): a repeat is answered before that work, which could refuse it now
        that the first request is done. :meth:`run` then takes the key in the storing
        transaction, as for any route."""
        if self.key is None:
            return None
        table = IdempotencyKey.__table__
        row = session.execute(select(table).where(
            table.c.key == self.key, table.c.created_at >= self.clock() - KEEP)).first()
        if row is None or row.status_code is None:  # unused, or its request still running
            return None
        return self._same_request(Earlier(row.route, row.request_hash, row.status_code,
                                     row.response))

    def answered(self, session: Session) -> Optional[JSONResponse]:
        """:meth:`earlier`'s stored answer as the response to send, or None."""
        earlier = self.earlier(session)
        return _replayed(earlier) if earlier is not None else None

    def part(self, name: str) -> "Once":
        """The key of one part of this request, stored on its own (``name``: which part), for
        a request whose parts are each done and committed on their own (many contracts
        invoiced at once): a repeat answers the parts done the first time with their stored
        answers and does the others. Unkeyed, this same request."""
        if self.key is None:
            return self
        digest = hashlib.sha256(f"{self.key}\n{name}".encode()).hexdigest()
        return replace(self, key=f"part:{digest}", shown=self.shown or self.key)

    def _do(self, session: Session, work: Callable[[], Any]) -> Any:
        # What FastAPI would send for the returned value, so the replay is the same JSON.
        content = jsonable_encoder(work())
        store_answer(session, self.key, self.status_code, content)
        return content

    def _claim(self, session: Session) -> Optional["Earlier"]:
        """Take the key (see :func:`claim_key`); its first use if that was this request
        already, else None (go and do it)."""
        try:
            row = claim_key(session, self.key, route=self.route,
                            request_hash=self.request_hash, caller=self.token_name,
                            now=self.clock())
        except RequestInProgress:
            raise RequestInProgress(f"a request with the {HEADER} {self.shown or self.key!r} "
                                    "is still in progress",
                                    hint="send it again in a moment") from None
        if row is None:
            return None
        return self._same_request(row)

    def _same_request(self, row: "Earlier") -> "Earlier":
        """The key's first use, for a repeat of its request; refused for another one."""
        if row.route != self.route or row.request_hash != self.request_hash:
            used_for = (row.route if row.route != self.route
                        else f"{row.route} with another path or body")
            raise ValidationFailed(f"the {HEADER} {self.shown or self.key!r} was already used "
                                   f"for another request ({used_for}); nothing was done",
                                   hint=_TO_SEND)
        return row


#: The header of an answer given again from the store.
REPLAYED = {"Idempotent-Replayed": "true"}


def _replayed(earlier: "Earlier") -> JSONResponse:
    return JSONResponse(earlier.response, status_code=earlier.status_code, headers=REPLAYED)


def _forget_expired(session: Session, key: str, cutoff: dt.datetime) -> None:
    """Delete this key's row if it expired (it must go, or the key would stay taken) and a
    batch of other expired rows. Rows another transaction is deleting are skipped, not waited
    for (``SKIP LOCKED``; SQLite has one writer at a time and ignores it)."""
    table = IdempotencyKey.__table__
    session.execute(delete(table).where(table.c.key == key, table.c.created_at < cutoff))
    oldest = (select(table.c.id).where(table.c.created_at < cutoff)
              .order_by(table.c.created_at).limit(SWEEP_BATCH)
              .with_for_update(skip_locked=True))
    session.execute(delete(table).where(table.c.id.in_(oldest)))


@contextmanager
def _waiting_at_most(session: Session, seconds: float, *, key: str) -> Iterator[None]:
    """On PostgreSQL, wait at most ``seconds`` for locks inside the block (the key another
    transaction is inserting), then put back the transaction's own limit for the work after
    it; running out is a :class:`RequestInProgress`. Nothing to do on SQLite, where the
    transaction already holds the only write lock."""
    def limit(value: str) -> None:
        # set_config(..., true) is SET LOCAL: it ends with the transaction whatever happens.
        session.execute(text("SELECT set_config('lock_timeout', :value, true)"),
                        {"value": value})

    previous = None
    if session.get_bind().dialect.name == "postgresql":
        previous = session.execute(text("SELECT current_setting('lock_timeout')")).scalar_one()
        limit(f"{int(seconds * 1000)}ms")
    try:
        yield
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) != _LOCK_NOT_AVAILABLE:
            raise
        # The transaction is aborted; the caller's session scope rolls it back.
        raise RequestInProgress(f"a request with the {HEADER} {key!r} is still in progress "
                                f"(waited {seconds:g} seconds for it)",
                                hint="send it again in a moment to get its answer") from None
    if previous is not None:
        limit(previous)


def _checked(key: str) -> str:
    """The key, or a 422 saying what to send instead."""
    if not key.strip():
        raise ValidationFailed(f"the {HEADER} header is empty", hint=_TO_SEND)
    if len(key) > MOST:
        raise ValidationFailed(f"the {HEADER} header is {len(key):,} characters long, more "
                               f"than the {MOST} it may have", hint=_TO_SEND)
    if not _PRINTABLE.fullmatch(key):
        bad = next(i for i, c in enumerate(key, 1) if not _PRINTABLE.fullmatch(c))
        raise ValidationFailed(f"the {HEADER} header has a character that is not printable "
                               f"ASCII (character {bad})", hint=_TO_SEND)
    return key


def _canonical(body: bytes) -> bytes:
    """The body as compact JSON with sorted keys, so a client that re-serialises the same
    values (other spacing, other key order) still sends "the same body". A body that is not
    JSON is refused by FastAPI anyway; it is hashed as sent."""
    try:
        return json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"),
                          ensure_ascii=False).encode()
    except (ValueError, RecursionError):  # not JSON, or nested past what json reads
        return body


async def once_per_key(
        request: Request,
        key: Annotated[Optional[str], Header(alias=HEADER, description=_DOCUMENTED)] = None,
        token: ApiToken = Depends(require_token),
        ctx: HubContext = Depends(get_context)) -> Once:
    """The dependency of every keyed route (see :data:`Keyed`): the request's key, checked,
    with what identifies the request (async only to read the body, which FastAPI has already
    read)."""
    route = request.scope["route"]
    status_code = route.status_code or 200
    if key is None:
        return Once(None, "", "", token.name, status_code, ctx.clock)
    key = _checked(key)
    # The path itself, not only its template: a refund of payment 2 is another request than a
    # refund of payment 1 with the same body.
    digest = hashlib.sha256(f"{request.method} {request.url.path}\n".encode())
    digest.update(_canonical(await request.body()))
    return Once(key, f"{request.method} {route.path_format}", digest.hexdigest(), token.name,
                status_code, ctx.clock)


#: The parameter type of a keyed route: ``def route(body: In, once: Keyed, ...)``.
Keyed = Annotated[Once, Depends(once_per_key)]


# The two steps of Once.run, for requests that are not the REST API's too: the admin's money
# forms send their key in a form field and answer with a redirect, not JSON
# (hub/web/admin/once.py). A caller words its refusals for its own users and gives a stored
# answer back in its own form.


@dataclass(frozen=True)
class Earlier:
    """The first use of a key: what it was for (``route``, ``request_hash``) and the answer
    stored with it (``response``: any JSON value the caller stored)."""

    route: str
    request_hash: str
    status_code: int
    response: Any


def claim_key(session: Session, key: str, *, route: str, request_hash: str, caller: str,
              now: dt.datetime) -> Optional[Earlier]:
    """Take ``key`` for a request in ``session``'s transaction, as :meth:`Once.run` does.

    None: the key is this transaction's now; do the work in ``session`` and
    :func:`store_answer` before it commits (a refusal or failure rolls the key back with the
    work, so the request may be sent again). Otherwise the key's first use, whatever it was
    for: the caller answers with it, or refuses a key used for another ``route`` or
    ``request_hash`` in its own words. A request holding the key is waited for, or refused
    with :class:`RequestInProgress`, exactly as for the API. ``key`` is checked by the caller
    (at most :data:`MOST` characters); ``caller`` names who sent it, for the record."""
    table = IdempotencyKey.__table__
    dialect = session.get_bind().dialect.name
    claim = ((postgresql if dialect == "postgresql" else sqlite).insert(table)
             .values(key=key, route=route, request_hash=request_hash, token_name=caller,
                     created_at=now)
             .on_conflict_do_nothing(index_elements=["key"]).returning(table.c.id))
    with _waiting_at_most(session, WAIT_SECONDS, key=key):
        _forget_expired(session, key, now - KEEP)
        inserted = session.execute(claim).first()
    if inserted is not None:
        return None
    row = session.execute(select(table).where(table.c.key == key)).first()
    if row is None or row.status_code is None:
        # As in Once._claim: not seen when transactions are as the module says.
        raise RequestInProgress(f"a request with the key {key!r} is still in progress",
                                hint="send it again in a moment")
    return Earlier(row.route, row.request_hash, row.status_code, row.response)


def store_answer(session: Session, key: str, status_code: int, response: Any) -> None:
    """Store the answer (``status_code``, and ``response``: a JSON value) of the request that
    took ``key`` with :func:`claim_key` in this same transaction, so that both commit with
    the work or not at all."""
    table = IdempotencyKey.__table__
    session.execute(update(table).where(table.c.key == key)
                    .values(status_code=status_code, response=response))

