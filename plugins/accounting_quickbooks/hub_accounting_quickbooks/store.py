"""What this plugin remembers per connection (in ``connection.state``).

- ``doc:<kind>:<hub id>`` -> QuickBooks Id of a document known to exist there;
- ``ext:<kind>:<QuickBooks Id>`` -> hub id (to recognise our own documents in webhooks);
- ``pending:<kind>:<hub id>`` -> attempt number, written *before* a document is sent and
  cleared when QuickBooks definitely stored nothing (it is only read while the document is not
  known to exist): a marker left behind means the outcome is unknown (timeout, dropped connection, 5xx, a worker that died), so the document is looked up
  by its number before it is ever sent again — Intuit's ``requestid`` memory is not promised
  to last;
- ``customer:<organisation id>`` -> Customer Id;
- ``from-qbo:<Payment Id>`` -> set for payments recorded directly in QuickBooks and reported
  to the hub, so pushing such a payment back (its reference being the Payment Id) creates
  nothing.
"""

from __future__ import annotations

from hub import Connection

__all__ = ["Ledger"]


class Ledger:
    """Typed access to the plugin's keys in ``connection.state``."""

    def __init__(self, connection: Connection) -> None:
        self.state = connection.state

    def external_id(self, kind: str, hub_id: int) -> str | None:
        """The QuickBooks Id of hub document ``hub_id``, if it is known to exist there."""
        return self.state.get(f"doc:{kind}:{hub_id}")

    def hub_id(self, kind: str, external_id: str) -> int | None:
        """The hub id behind a QuickBooks document this plugin created."""
        return self.state.get(f"ext:{kind}:{external_id}")

    def synced(self, kind: str, hub_id: int, external_id: str) -> None:
        """Record that ``hub_id`` exists in QuickBooks as ``external_id``."""
        self.state.set(f"ext:{kind}:{external_id}", hub_id)
        self.state.set(f"doc:{kind}:{hub_id}", external_id)

    def pending(self, kind: str, hub_id: int) -> int | None:
        """The attempt whose outcome is unknown, or None."""
        return self.state.get(f"pending:{kind}:{hub_id}")

    def mark_sending(self, kind: str, hub_id: int, attempt: int) -> None:
        """Write-ahead: ``hub_id`` is about to be sent in ``attempt``."""
        self.state.set(f"pending:{kind}:{hub_id}", attempt)

    def settled(self, kind: str, hub_id: int) -> None:
        """QuickBooks definitely did not store it (refused, or throttled before processing)."""
        self.state.set(f"pending:{kind}:{hub_id}", None)

    def customer_id(self, organisation_id: int) -> str | None:
        """The Customer Id of an organisation, once known."""
        return self.state.get(f"customer:{organisation_id}")

    def set_customer(self, organisation_id: int, customer_id: str) -> None:
        """Remember an organisation's Customer Id."""
        self.state.set(f"customer:{organisation_id}", customer_id)

    def recorded_in_qbo(self, payment_id: str) -> None:
        """This payment was made in QuickBooks and reported to the hub as an event."""
        self.state.set(f"from-qbo:{payment_id}", True)

    def came_from_qbo(self, payment_id: str | None) -> bool:
        """True for a payment that QuickBooks itself reported (never push it back)."""
        return bool(payment_id) and bool(self.state.get(f"from-qbo:{payment_id}"))
