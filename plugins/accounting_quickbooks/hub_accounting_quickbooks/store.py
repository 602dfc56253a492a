"""What this plugin remembers per connection: the hub's :class:`hub.PushLedger` (documents
known to exist in QuickBooks, write-ahead markers of sends whose outcome is unknown: Intuit's
``requestid`` memory is not promised to last, so such a document is looked up by its number
before it is sent again), with ``customer:<organisation id>`` -> Customer Id and
``from-qbo:<Payment Id>`` for payments recorded directly in QuickBooks (never pushed back)."""

from __future__ import annotations

from hub import PushLedger

__all__ = ["Ledger"]


class Ledger(PushLedger):
    """Typed access to the plugin's keys in ``connection.state``."""

    party_key = "customer"
    origin_key = "from-qbo"

    customer_id = PushLedger.party_id
    set_customer = PushLedger.set_party
    recorded_in_qbo = PushLedger.recorded_by_vendor
    came_from_qbo = PushLedger.came_from_vendor
