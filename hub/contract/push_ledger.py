"""What an accounting plugin remembers per connection (in ``connection.state``) to push each
document exactly once, for plugins to subclass (the Xero and QuickBooks plugins do).

- ``doc:<kind>:<hub id>`` -> the vendor's id of a document known to exist there;
- ``ext:<kind>:<vendor id>`` -> hub id (to recognise the plugin's own documents in webhooks and
  pulls);
- ``pending:<kind>:<hub id>`` -> attempt number, written *before* a document is sent and
  cleared when the vendor definitely stored nothing: a marker left behind means the outcome is
  unknown (a timeout, a dropped connection, a 5xx, a worker that died), so the document is
  looked up by its number before it is ever sent again;
- ``<party_key>:<organisation id>`` -> the vendor's id of the organisation (Xero's ContactID,
  QuickBooks' Customer Id);
- ``<origin_key>:<payment id>`` -> set for payments recorded directly at the vendor and
  reported to the hub, so that pushing such a payment back (its reference being the vendor's
  payment id) creates nothing.
"""

from __future__ import annotations

from hub.contract.connections import Connection

__all__ = ["PushLedger"]


class PushLedger:
    """Typed access to an accounting plugin's keys in ``connection.state``.

    A subclass names its two vendor-specific prefixes: ``party_key`` (the organisation's
    record at the vendor) and ``origin_key`` (payments the vendor reported)."""

    party_key = "party"
    origin_key = "from-vendor"

    def __init__(self, connection: Connection) -> None:
        self.state = connection.state

    def external_id(self, kind: str, hub_id: int) -> str | None:
        """The vendor's id of hub document ``hub_id``, if it is known to exist there."""
        return self.state.get(f"doc:{kind}:{hub_id}")

    def hub_id(self, kind: str, external_id: str) -> int | None:
        """The hub id behind a vendor document this plugin created."""
        return self.state.get(f"ext:{kind}:{external_id}")

    def synced(self, kind: str, hub_id: int, external_id: str) -> None:
        """Record that ``hub_id`` exists at the vendor as ``external_id``. Its ``pending``
        marker is left as it is: markers are only read for documents not known to exist, so
        clearing it would be one more write per document for nothing."""
        self.state.set(f"ext:{kind}:{external_id}", hub_id)
        self.state.set(f"doc:{kind}:{hub_id}", external_id)

    def pending(self, kind: str, hub_id: int) -> int | None:
        """The attempt whose outcome is unknown, or None."""
        return self.state.get(f"pending:{kind}:{hub_id}")

    def mark_sending(self, kind: str, hub_id: int, attempt: int) -> None:
        """Write-ahead: ``hub_id`` is about to be sent in ``attempt``."""
        self.state.set(f"pending:{kind}:{hub_id}", attempt)

    def settled(self, kind: str, hub_id: int) -> None:
        """The vendor definitely did not store it (rejected, or refused before processing)."""
        self.state.set(f"pending:{kind}:{hub_id}", None)

    def party_id(self, organisation_id: int) -> str | None:
        """The vendor's id of an organisation, once known."""
        return self.state.get(f"{self.party_key}:{organisation_id}")

    def set_party(self, organisation_id: int, party_id: str) -> None:
        """Remember an organisation's id at the vendor."""
        self.state.set(f"{self.party_key}:{organisation_id}", party_id)

    def recorded_by_vendor(self, payment_id: str) -> None:
        """This payment was made at the vendor and reported to the hub as an event."""
        self.state.set(f"{self.origin_key}:{payment_id}", True)

    def came_from_vendor(self, payment_id: str | None) -> bool:
        """True for a payment that the vendor itself reported (never push it back)."""
        return bool(payment_id) and bool(self.state.get(f"{self.origin_key}:{payment_id}"))
