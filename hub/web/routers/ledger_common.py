"""What the ledger's routers share (:mod:`.ledger` for payments, invoices and credit notes,
:mod:`.ledger_accounts` for accounts): the request body base, the ``Idempotency-Key`` of money
routes, the ledger's session and the JSON of a payment or an invoice with its links (amounts
in their currency's minor unit, by :func:`hub.web.amounts.json_ready`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from hub.host.context import HubContext
from hub.web.amounts import json_ready
from hub.web.idempotency import Keyed

__all__ = ["Keyed", "LedgerIn", "session_of", "payment_out", "invoice_out", "json_ready",
           "organisation_currency"]


class LedgerIn(BaseModel):
    """A ledger request body: a field it does not know is refused (a misspelt one would
    otherwise be dropped without a word)."""

    model_config = ConfigDict(extra="forbid")


def session_of(ctx: HubContext):
    """The ledger's session for one request: one transaction, committed on success."""
    from hub.ledger import ledger_session

    return ledger_session(ctx)


def payment_out(session, payment) -> dict[str, Any]:
    """A payment (or refund) as JSON, with the invoices and credit notes it is linked to."""
    from hub.ledger import links_of_payment

    return json_ready({**payment.model_dump(mode="json"),
                       "links": links_of_payment(session, payment.id)})


def invoice_out(session, invoice) -> dict[str, Any]:
    """An invoice as JSON, with what is still due and its payments and credit notes."""
    from hub.ledger import links_of_invoice

    data = invoice.model_dump(mode="json")
    return json_ready({**data, "amount_due": str(invoice.amount_due),
                       "links": links_of_invoice(session, invoice.id)})


def organisation_currency(session, organisation_id: int) -> str | None:
    """The currency of an organisation's account figures (a summary or a config names none
    of its own), or None when there is no such organisation."""
    from hub.db.models import Organisation

    org = session.get(Organisation, organisation_id)
    return org.currency if org is not None else None
