"""The sandbox's Stripe account: objects, idempotency, rate limit, injected faults and events.

:meth:`StripeSandbox.handle` takes one HTTP request as Stripe receives it (method, path, form or
query text, headers) and answers ``(status, json, headers)`` as Stripe would. The FastAPI app in
:mod:`.app` is a thin shell around it. Test helpers that have no API in Stripe's test mode either
(settle a bank debit, open or close a dispute, let a card expire) are plain methods.
"""

from __future__ import annotations

import collections
import copy
import datetime as dt
import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from hub_payments_stripe.sandbox import handlers
from hub_payments_stripe.sandbox.delivery import WebhookOutbox
from hub_payments_stripe.sandbox.helpers import StripeHappenings
from hub_payments_stripe.sandbox.objects import TEST_CARDS, TestCard, build, error_body, new_id
from hub_payments_stripe.sandbox.spec import ParamError, check_params, decode_form, operation

__all__ = ["StripeSandbox", "SandboxError", "Fault", "TEST_MODE_RATE_LIMIT"]

#: Stripe's documented limit in test mode (operations per second).
TEST_MODE_RATE_LIMIT = 25
#: Idempotency keys: at most 255 characters, remembered for (at least) 24 hours.
MAX_IDEMPOTENCY_KEY = 255
IDEMPOTENCY_WINDOW_SECONDS = 24 * 3600


class SandboxError(Exception):
    """A Stripe error answer raised inside a handler: ``status`` plus Stripe's error body."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body["error"].get("message"))
        self.status = status
        self.body = body


@dataclass
class Fault:
    """An injected failure: answer ``status`` to the next ``times`` matching requests.

    ``after_commit=True`` performs the request first (the charge happens, the idempotent result
    is saved) and only then answers with the failure: Stripe accepted, the caller never heard.
    """

    status: int
    times: int = 1
    path_prefix: str = "/v1/"
    method: str | None = None
    after_commit: bool = False

    def matches(self, method: str, path: str) -> bool:
        return (self.times > 0 and path.startswith(self.path_prefix)
                and (self.method is None or self.method == method))


class StripeSandbox(StripeHappenings):
    """One in-memory Stripe account in test mode."""

    def __init__(self, *, api_key: str = "sk_test_sandbox", webhook_secret: str = "whsec_sandbox",
                 clock: Callable[[], float] = time.time, rate_limit: float | None = None,
                 webhook_url: str | None = None, spec_path: str | None = None,
                 rate_clock: Callable[[], float] = time.monotonic, validate: bool = True) -> None:
        self.api_key = api_key
        self.clock = clock
        self.rate_limit = rate_limit
        self.rate_clock = rate_clock
        self.spec_path = spec_path
        # ``validate=False`` (the demo, without the shared specs folder) skips checking
        # parameters against spec3.yaml; tests keep validating.
        self.validate = validate
        self.webhooks = WebhookOutbox(webhook_secret, url=webhook_url)
        self.lock = threading.RLock()
        self.store: dict[str, dict[str, dict[str, Any]]] = collections.defaultdict(dict)
        self.behaviour: dict[str, TestCard] = {}
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        self.faults: list[Fault] = []
        self._idempotency: dict[str, tuple[str, int, dict[str, Any], int]] = {}
        self._seq = 0
        self._order: dict[str, int] = {}
        self._recent: collections.deque[float] = collections.deque()
        self._request: dict[str, Any] = {}

    # ------------------------------------------------------------------ configuration & faults
    def inject(self, status: int, *, times: int = 1, path_prefix: str = "/v1/",
               method: str | None = None, after_commit: bool = False) -> Fault:
        """Fail the next ``times`` matching requests with ``status`` (500, 503, 429, ...)."""
        fault = Fault(status, times, path_prefix, method, after_commit)
        with self.lock:
            self.faults.append(fault)
        return fault

    def now(self) -> int:
        """Sandbox time as Stripe's unix seconds."""
        return int(self.clock())

    # ------------------------------------------------------------------ the request path
    def handle(self, method: str, path: str, text: str,
               headers: dict[str, str]) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Answer one API request as Stripe would."""
        method = method.lower()
        headers = {k.lower(): v for k, v in headers.items()}
        request_id = new_id("req")
        out_headers = {"Request-Id": request_id, "Stripe-Version": headers.get("stripe-version", "")}
        if headers.get("authorization") != f"Bearer {self.api_key}":
            given = headers.get("authorization", "").removeprefix("Bearer ")
            return 401, error_body("invalid_request_error",
                                   f"Invalid API Key provided: {given[:8]}****"), out_headers
        if self._over_rate_limit():
            return 429, error_body(
                "invalid_request_error", "Too many requests hit the API too quickly. We recommend "
                "an exponential backoff of your requests.", code="rate_limit"), out_headers
        fault = self._take_fault(method, path)
        if fault and not fault.after_commit:
            return fault.status, self._fault_body(fault), out_headers
        route = handlers.match(method, path)
        if route is None:
            return 404, error_body("invalid_request_error",
                                   f"Unrecognized request URL ({method.upper()}: {path}).",
                                   ), out_headers
        template, handler, path_params = route
        try:
            params = decode_form(text)
            if self.validate:
                check_params(operation(method, template, self.spec_path), params,
                             path=self.spec_path)
        except ParamError as exc:
            return 400, error_body("invalid_request_error", exc.message, code=exc.code,
                                   param=exc.param), out_headers
        key = headers.get("idempotency-key") if method == "post" else None
        if key is not None and len(key) > MAX_IDEMPOTENCY_KEY:
            return 400, error_body(
                "invalid_request_error", f"Invalid idempotency key: must be at most "
                f"{MAX_IDEMPOTENCY_KEY} characters long"), out_headers
        fingerprint = json.dumps([method, path, params], sort_keys=True)
        with self.lock:
            self.requests.append((method, path, params))
            saved = self._idempotency.get(key) if key is not None else None
            if saved is not None and self.now() - saved[3] > IDEMPOTENCY_WINDOW_SECONDS:
                saved = None  # forgotten after 24 hours: the same key is a new request
            if saved is not None and saved[0] != fingerprint:
                return 400, error_body(
                    "idempotency_error",
                    "Keys for idempotent requests can only be used with the same "
                    "parameters they were first used with. Try using a key other than "
                    f"'{key}' if you meant to execute a different request."), out_headers
            if saved is not None:
                status, body = saved[1], copy.deepcopy(saved[2])
                out_headers["Idempotent-Replayed"] = "true"
            else:
                self._request = {"id": request_id, "idempotency_key": key}
                try:
                    status, body = 200, handler(self, params, **path_params)
                except SandboxError as exc:
                    status, body = exc.status, exc.body
                finally:
                    self._request = {}
                if status == 200 and params.get("expand"):
                    body = self.expand(copy.deepcopy(body), params["expand"])
                # Stripe saves the result of any request that started executing (card errors
                # too), but not one refused before that (validation, auth, rate limit).
                if key is not None and (status in (200, 402) or status >= 500):
                    self._idempotency[key] = (fingerprint, status, copy.deepcopy(body),
                                              self.now())
        if fault and fault.after_commit:
            return fault.status, self._fault_body(fault), out_headers
        return status, body, out_headers

    #: Which stored kind an expandable id field points at.
    EXPANDABLE = {"payment_intent": "payment_intent", "charge": "charge",
                  "latest_charge": "charge", "customer": "customer",
                  "payment_method": "payment_method"}

    def expand(self, body: dict[str, Any], paths: list[str]) -> dict[str, Any]:
        """Stripe's ``expand[]``: replace ids at ``paths`` (``"customer"``,
        ``"data.payment_intent"``) by the objects they name."""
        for path in paths:
            targets, parts = [body], path.split(".")
            for part in parts[:-1]:
                nxt = []
                for target in targets:
                    value = target.get(part) if isinstance(target, dict) else None
                    nxt.extend(value if isinstance(value, list) else [value])
                targets = [t for t in nxt if isinstance(t, dict)]
            field, kind = parts[-1], self.EXPANDABLE.get(parts[-1])
            for target in targets:
                ref = target.get(field)
                if kind and isinstance(ref, str) and ref in self.store[kind]:
                    target[field] = copy.deepcopy(self.store[kind][ref])
        return body

    def _over_rate_limit(self) -> bool:
        if not self.rate_limit:
            return False
        with self.lock:
            now = self.rate_clock()
            while self._recent and now - self._recent[0] >= 1.0:
                self._recent.popleft()
            if len(self._recent) >= self.rate_limit:
                return True
            self._recent.append(now)
            return False

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    fault.times -= 1
                    return fault
        return None

    @staticmethod
    def _fault_body(fault: Fault) -> dict[str, Any]:
        if fault.status == 429:
            return error_body("invalid_request_error", "Too many requests hit the API too quickly.",
                              code="rate_limit")
        return error_body("api_error", "Sorry, something went wrong on Stripe's end (sandbox fault).")

    # ------------------------------------------------------------------ store helpers
    def put(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Store ``obj`` (keeps creation order for lists)."""
        with self.lock:
            if obj["id"] not in self._order:
                self._seq += 1
                self._order[obj["id"]] = self._seq
            self.store[kind][obj["id"]] = obj
        return obj

    def get(self, kind: str, object_id: str, *, param: str | None = None) -> dict[str, Any]:
        """The stored object, or Stripe's ``resource_missing`` error."""
        try:
            return self.store[kind][object_id]
        except KeyError:
            raise SandboxError(404, error_body(
                "invalid_request_error", f"No such {kind.replace('_', '')}: '{object_id}'",
                code="resource_missing", param=param or "id")) from None

    def listing(self, kind: str, params: dict[str, Any], url: str,
                keep: Callable[[dict[str, Any]], bool] = lambda o: True) -> dict[str, Any]:
        """A Stripe list object: newest first, ``limit``, ``starting_after``/``ending_before``,
        ``created[gt|gte|lt|lte]``."""
        with self.lock:
            items = [o for o in self.store[kind].values() if keep(o) and _created_ok(o, params)]
            items.sort(key=lambda o: (o["created"], self._order[o["id"]]), reverse=True)
        limit = int(params.get("limit", 10))
        if not 1 <= limit <= 100:
            raise SandboxError(400, error_body("invalid_request_error",
                                               "Invalid limit: must be between 1 and 100",
                                               code="parameter_invalid_integer", param="limit"))
        ids = [o["id"] for o in items]
        if params.get("starting_after"):
            start = params["starting_after"]
            items = items[ids.index(start) + 1:] if start in ids else []
        elif params.get("ending_before"):
            end = params["ending_before"]
            items = items[:ids.index(end)][-limit:] if end in ids else []
        page = items[:limit]
        return {"object": "list", "url": url, "has_more": len(items) > limit,
                "data": copy.deepcopy(page)}

    def emit(self, type_: str, obj: dict[str, Any], previous: dict[str, Any] | None = None) -> dict:
        """Raise event ``type_`` about ``obj`` (a snapshot, as Stripe sends it)."""
        data: dict[str, Any] = {"object": copy.deepcopy(obj)}
        if previous:
            data["previous_attributes"] = previous
        event = build("event", id=new_id("evt"), type=type_, created=self.now(), data=data,
                      api_version="2023-08-16", livemode=False, pending_webhooks=1,
                      request={"id": self._request.get("id"),
                               "idempotency_key": self._request.get("idempotency_key")})
        self.put("event", event)
        self.webhooks.record(event)
        return event

    # ------------------------------------------------------------------ payment methods
    def payment_method_for(self, ref: str, *, param: str = "payment_method") -> dict[str, Any]:
        """A stored payment method, or a fresh one cloned from a test token (``pm_card_visa``)."""
        if ref in self.store["payment_method"]:
            return self.store["payment_method"][ref]
        card = TEST_CARDS.get(ref)
        if card is None:
            raise SandboxError(404, error_body(
                "invalid_request_error", f"No such PaymentMethod: '{ref}'",
                code="resource_missing", param=param))
        today = dt.datetime.fromtimestamp(self.now(), dt.timezone.utc).date()
        return self.add_payment_method(card, exp_month=12, exp_year=today.year + 3)

    def add_payment_method(self, card: TestCard | str, *, exp_month: int, exp_year: int,
                           customer: str | None = None) -> dict[str, Any]:
        """A new payment method behaving like ``card`` (test token name or :class:`TestCard`)."""
        from hub_payments_stripe.sandbox.objects import card_details

        card = TEST_CARDS[card] if isinstance(card, str) else card
        pm = build("payment_method", id=new_id("pm"), created=self.now(), customer=customer,
                   metadata={}, type=card.pm_type)
        if card.pm_type == "card":
            pm["card"] = card_details(card, exp_month, exp_year)
        else:
            del pm["card"]
            pm[card.pm_type] = {"last4": card.last4, "bank_name": "STRIPE TEST BANK",
                                "account_type": "checking", "account_holder_type": "company",
                                "fingerprint": secrets.token_hex(8), "routing_number": "110000000",
                                "networks": {"preferred": "ach", "supported": ["ach"]},
                                "financial_connections_account": None,
                                "status_details": None}
        self.behaviour[pm["id"]] = card
        return self.put("payment_method", pm)


def _created_ok(obj: dict[str, Any], params: dict[str, Any]) -> bool:
    created = params.get("created")
    if created is None:
        return True
    if isinstance(created, str):
        return obj["created"] == int(created)
    checks = {"gt": obj["created"].__gt__, "gte": obj["created"].__ge__,
              "lt": obj["created"].__lt__, "lte": obj["created"].__le__}
    return all(checks[op](int(v)) for op, v in created.items())


