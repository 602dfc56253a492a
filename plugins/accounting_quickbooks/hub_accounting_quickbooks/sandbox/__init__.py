"""A local QuickBooks Online for tests, benchmarks and demos (see :mod:`.server`)."""

from hub.testing.faults import Fault

from hub_accounting_quickbooks.sandbox.limits import Limits
from hub_accounting_quickbooks.sandbox.server import API_PREFIX, LoggedCall, QuickBooksSandbox

__all__ = ["QuickBooksSandbox", "Fault", "Limits", "LoggedCall", "API_PREFIX"]
