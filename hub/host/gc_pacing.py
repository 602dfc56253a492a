"""Garbage-collector pacing for bulk work (billing runs, reconciliation).

A billing run allocates millions of small objects (rows, drafts, provenance dicts, Decimals),
nearly all freed by reference counting as each chunk ends. CPython's default pacing starts a
young-generation collection every 700 net allocations and, as the heap grows, rescans the
whole heap again and again: on a 10,000-organisation run that was more than a third of the
run's time (bench/billing_run.py). Inside :func:`bulk_allocations` the young generation is
collected every 50,000 allocations instead; reference cycles are still collected, just less
often, and the previous pacing comes back when the block ends.

The objects that exist when the block starts (the imported modules, classes and mappers: some
hundred thousand in a CLI process) are frozen for its duration (:func:`gc.freeze`): they
outlive the block, so scanning them finds nothing, and a full collection that happened to fall
inside a 10,000-document reconciliation rescanned them all — it took 100 ms instead of 45, and
whether it fell there depended only on what the process had done before (issue #21). They are
unfrozen when the block ends, so a cycle among them that became garbage meanwhile is collected
at the next full collection. A process that froze objects itself (a pre-forking server) keeps
its own freeze: the block then freezes and unfreezes nothing.
"""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from typing import Iterator

__all__ = ["bulk_allocations", "YOUNG_THRESHOLD"]

#: Net allocations between young-generation collections inside the block (default 700).
YOUNG_THRESHOLD = 50_000

# The thresholds are process-wide: blocks may overlap (two API requests, nested calls), so the
# first one in sets them and the last one out restores what it found.
_lock = threading.Lock()
_depth = 0
_saved: tuple[int, ...] | None = None
_froze = False


@contextmanager
def bulk_allocations() -> Iterator[None]:
    """Collect garbage less often for the duration of the block (see module docstring)."""
    global _depth, _saved, _froze
    with _lock:
        if _depth == 0:
            _saved = gc.get_threshold()
            young, *older = _saved
            if young:  # 0 means collection is off: leave it that way
                gc.set_threshold(max(young, YOUNG_THRESHOLD), *older)
            _froze = gc.get_freeze_count() == 0
            if _froze:
                gc.freeze()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved is not None:
                if _froze:
                    gc.unfreeze()
                    _froze = False
                gc.set_threshold(*_saved)
                _saved = None
