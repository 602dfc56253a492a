"""What this plugin remembers per connection: the hub's :class:`hub.PushLedger` (documents
known to exist at Xero, write-ahead markers of sends whose outcome is unknown), with
``contact:<organisation id>`` -> ContactID and ``from-xero:<PaymentID>`` for payments recorded
directly in Xero (never pushed back)."""

from __future__ import annotations

from hub import PushLedger

__all__ = ["Ledger"]


class Ledger(PushLedger):
    """Typed access to the plugin's keys in ``connection.state``."""

    party_key = "contact"
    origin_key = "from-xero"

    contact_id = PushLedger.party_id
    set_contact = PushLedger.set_party
    recorded_in_xero = PushLedger.recorded_by_vendor
    came_from_xero = PushLedger.came_from_vendor
