"""A local Xero for tests, benchmarks and demos (see :mod:`.server`)."""

from hub.testing.faults import Fault

from hub_accounting_xero.sandbox.limits import Limits
from hub_accounting_xero.sandbox.server import API_PREFIX, LoggedCall, XeroSandbox

__all__ = ["XeroSandbox", "Fault", "Limits", "LoggedCall", "API_PREFIX"]
