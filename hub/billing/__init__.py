"""Billing services: catalogue, one-time/proforma/recurring invoices, invoice groups, billing
contracts, and billing runs as preview-then-confirm batches.

The rules themselves live in :mod:`hub.core` (pure, no I/O); these modules load facts from the
database, ask the counter hooks, and write drafts and final invoices exactly once.
"""

from hub.billing.runs import BatchSummary, confirm, discard, preview

__all__ = ["preview", "confirm", "discard", "BatchSummary"]
