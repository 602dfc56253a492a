"""What this plugin remembers per connection (in ``connection.state``).

- ``doc:<kind>:<hub id>`` -> Xero id of a document known to exist at Xero;
- ``ext:<kind>:<Xero id>`` -> hub id (to recognise our own documents in webhooks and pulls);
- ``pending:<kind>:<hub id>`` -> attempt number, written *before* a document is sent and
  cleared once Xero's answer is known: a marker left behind means the outcome is unknown (a
  timeout, a dropped connection, a worker that died) and the document is looked up before it
  is ever sent again;
- ``contact:<organisation id>`` -> ContactID;
- ``from-xero:<PaymentID>`` -> set for payments recorded directly in Xero and reported to the
  hub, so that pushing such a payment back (its reference being the PaymentID) creates nothing.
"""

from __future__ import annotations

from hub import Connection

__all__ = ["Ledger"]


class Ledger:
    """Typed access to the plugin's keys in ``connection.state``."""

    def __init__(self, connection: Connection) -> None:
        self.state = connection.state

    def external_id(self, kind: str, hub_id: int) -> str | None:
        """The Xero id of hub document ``hub_id``, if it is known to exist there."""
        return self.state.get(f"doc:{kind}:{hub_id}")

    def hub_id(self, kind: str, external_id: str) -> int | None:
        """The hub id behind a Xero document this plugin created."""
        return self.state.get(f"ext:{kind}:{external_id}")

    def synced(self, kind: str, hub_id: int, external_id: str) -> None:
        """Record that ``hub_id`` exists at Xero as ``external_id``. Its ``pending`` marker
        is left as it is: markers are only read for documents not known to exist, so clearing
        it would be one more write per document for nothing."""
        self.state.set(f"ext:{kind}:{external_id}", hub_id)
        self.state.set(f"doc:{kind}:{hub_id}", external_id)

    def pending(self, kind: str, hub_id: int) -> int | None:
        """The attempt whose outcome is unknown, or None."""
        return self.state.get(f"pending:{kind}:{hub_id}")

    def mark_sending(self, kind: str, hub_id: int, attempt: int) -> None:
        """Write-ahead: ``hub_id`` is about to be sent in ``attempt``."""
        self.state.set(f"pending:{kind}:{hub_id}", attempt)

    def settled(self, kind: str, hub_id: int) -> None:
        """Xero definitely did not store it (rejected, or refused before processing)."""
        self.state.set(f"pending:{kind}:{hub_id}", None)

    def contact_id(self, organisation_id: int) -> str | None:
        """The ContactID of an organisation, once known."""
        return self.state.get(f"contact:{organisation_id}")

    def set_contact(self, organisation_id: int, contact_id: str) -> None:
        """Remember an organisation's ContactID."""
        self.state.set(f"contact:{organisation_id}", contact_id)

    def recorded_in_xero(self, payment_id: str) -> None:
        """This Xero payment was made in Xero and reported to the hub as an event."""
        self.state.set(f"from-xero:{payment_id}", True)

    def came_from_xero(self, payment_id: str | None) -> bool:
        """True for a payment that Xero itself reported (never push it back)."""
        return bool(payment_id) and bool(self.state.get(f"from-xero:{payment_id}"))
