"""Webhooks the sandbox sends back: signed by the ``stripe`` library itself, kept in order, and
deliverable again, shuffled or duplicated (Stripe delivers at least once, in no set order)."""

from __future__ import annotations

import json
import queue
import random
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence, Union

import httpx
import stripe

__all__ = ["Delivery", "WebhookOutbox", "Target"]

#: Where a delivery goes: a URL (POSTed over ``client``) or a callable taking (headers, body)
#: and returning the HTTP status the receiver would answer.
Target = Union[str, Callable[[dict[str, str], bytes], int]]


@dataclass(frozen=True)
class Delivery:
    """One event as Stripe would POST it: the body bytes and how to sign them."""

    event_id: str
    type: str
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        """The event as JSON."""
        return json.loads(self.body)

    def headers(self, secret: str, *, timestamp: int | None = None) -> dict[str, str]:
        """``Stripe-Signature`` (``t=...,v1=...``) made with ``stripe.WebhookSignature``."""
        signature = stripe.WebhookSignature.generate_signature_header(
            self.body.decode("utf-8"), secret,
            timestamp=int(time.time()) if timestamp is None else timestamp)
        return {"Content-Type": "application/json; charset=utf-8", "Stripe-Signature": signature,
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"}


class WebhookOutbox:
    """Every event the sandbox raised, and the tools to (re)deliver them."""

    def __init__(self, secret: str, *, url: str | None = None,
                 client: httpx.Client | None = None) -> None:
        self.secret = secret
        self.url = url
        self._client = client
        self._lock = threading.Lock()
        self._all: list[Delivery] = []
        self._sent = 0
        self._queue: queue.Queue[Delivery] = queue.Queue()
        self._worker: threading.Thread | None = None
        #: (event id, HTTP status or the error) of every POST to ``url``, in order.
        self.posted: list[tuple[str, int | str]] = []

    def record(self, event: dict[str, Any]) -> Delivery:
        """Keep ``event``; when a URL is configured, POST it soon from a background thread
        (as Stripe does: never inside the API request that caused it)."""
        delivery = Delivery(event["id"], event["type"],
                            json.dumps(event, indent=2, sort_keys=False).encode("utf-8"))
        with self._lock:
            self._all.append(delivery)
            if self.url:
                if self._worker is None:
                    self._worker = threading.Thread(target=self._post_forever, daemon=True,
                                                    name="stripe-sandbox-webhooks")
                    self._worker.start()
                self._queue.put(delivery)
        return delivery

    def _post_forever(self) -> None:
        while True:
            delivery = self._queue.get()
            try:
                status: int | str = self.send([delivery], self.url)[0]
            except httpx.HTTPError as exc:  # the receiver is down: Stripe would retry later
                status = f"{type(exc).__name__}: {exc}"
            self.posted.append((delivery.event_id, status))
            self._queue.task_done()

    def join(self) -> list[tuple[str, int | str]]:
        """Wait until every event so far has been POSTed to ``url``; what each got back."""
        self._queue.join()
        return list(self.posted)

    @property
    def all(self) -> list[Delivery]:
        """Every event so far, in the order it happened."""
        with self._lock:
            return list(self._all)

    def take(self) -> list[Delivery]:
        """Events not taken before (the test delivers them itself)."""
        with self._lock:
            fresh = self._all[self._sent:]
            self._sent = len(self._all)
            return fresh

    def find(self, event_id: str) -> Delivery:
        """The delivery of ``event_id`` (to replay it)."""
        for delivery in self.all:
            if delivery.event_id == event_id:
                return delivery
        raise KeyError(f"the sandbox raised no event {event_id}")

    @staticmethod
    def scramble(deliveries: Sequence[Delivery], *, copies: int = 1,
                 seed: int | random.Random | None = None) -> list[Delivery]:
        """``copies`` of each delivery, shuffled with ``seed`` (``None``: keep the order)."""
        out = [d for d in deliveries for _ in range(copies)]
        if seed is not None:
            rng = seed if isinstance(seed, random.Random) else random.Random(seed)
            rng.shuffle(out)
        return out

    def send(self, deliveries: Iterable[Delivery], target: Target,
             *, secret: str | None = None, timestamp: int | None = None) -> list[int]:
        """Deliver each to ``target`` (URL or callable); returns the receiver's statuses."""
        statuses = []
        for delivery in deliveries:
            headers = delivery.headers(secret or self.secret, timestamp=timestamp)
            if callable(target):
                statuses.append(target(headers, delivery.body))
            else:
                if self._client is None:
                    self._client = httpx.Client(timeout=10)
                statuses.append(self._client.post(target, content=delivery.body,
                                                  headers=headers).status_code)
        return statuses
