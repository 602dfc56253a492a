"""Failure injection for vendor sandboxes: what a sandbox does wrong on purpose, and when.

Shared by the accounting sandboxes (Xero, QuickBooks), which apply the rules in their own
request handling.

A :class:`Fault` matches requests by method and path (a regular expression on the path under
the API root) and an optional predicate on the request's sequence number; ``times`` bounds how
often it fires. Kinds:

- ``status``: answer ``status`` (e.g. 500/503) before doing anything;
- ``rate``: answer 429 with ``Retry-After`` as if a limit were hit, before doing anything;
- ``slow``: wait ``seconds`` (real), before or ``after`` doing the work, then answer;
- ``drop``: close the connection without an answer, before or ``after`` doing the work.

A ``slow`` fault longer than the client's timeout after the work is the classic "unknown
outcome": the vendor stored the documents, the caller never heard.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Callable, Literal

__all__ = ["Fault", "Faults"]


@dataclass
class Fault:
    """One injected failure rule (see the module docstring)."""

    kind: Literal["status", "rate", "slow", "drop"]
    times: int | None = 1
    method: str | None = None
    path: str | None = None
    status: int = 503
    seconds: float = 0.0
    after: bool = False
    when: Callable[[int], bool] | None = None
    fired: int = field(default=0, init=False)

    def matches(self, method: str, path: str, seq: int) -> bool:
        """True when this rule applies to request number ``seq``."""
        if self.times is not None and self.fired >= self.times:
            return False
        if self.method and self.method.upper() != method.upper():
            return False
        if self.path and not re.search(self.path, path):
            return False
        return self.when is None or self.when(seq)


class Faults:
    """The active rules; the first matching rule fires."""

    def __init__(self) -> None:
        self.rules: list[Fault] = []
        self._seq: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> Fault:
        """Activate ``fault`` and return it (its ``fired`` count shows what happened)."""
        with self._lock:
            self.rules.append(fault)
        return fault

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self.rules.clear()

    def take(self, method: str, path: str) -> Fault | None:
        """The rule that fires for this request, if any (counts it)."""
        key = (method.upper(), re.sub(r"/[0-9a-f-]{36}", "/{id}", path))
        with self._lock:
            seq = self._seq.get(key, 0) + 1
            self._seq[key] = seq
            for rule in self.rules:
                if rule.matches(method, path, seq):
                    rule.fired += 1
                    return rule
        return None
