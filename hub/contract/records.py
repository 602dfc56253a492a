"""What crosses the plugin boundary: plain, frozen records, never database rows.

Plugins receive these from the host and return these to it, so a plugin never holds an ORM
session or a live object (jobs carry ids; hooks carry these snapshots). Money travels as
:class:`~hub.core.money.Money`; dates are ``datetime.date``; times are aware UTC datetimes.

Groups:

- *pulled facts* (``*Record``): what a connector found at its source, keyed by the source's id;
- *counting*: the question a counter hook answers (:class:`CountQuery`) and its answer
  (:class:`Counted`), which carries the ids that make the count (line provenance);
- *documents to push* (``*Doc``) and the per-document outcome (:class:`PushOutcome`);
- *payments in*: webhook requests and the normalised :class:`PaymentEvent` a plugin makes of them;
- *charges out*: :class:`ChargeRequest` / :class:`ChargeOutcome`, :class:`RefundRequest`.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field

from hub.core.money import Money

__all__ = [
    "Record", "OrganisationRecord", "ContactRecord", "AssetRecord", "TicketRecord",
    "TimeEntryRecord", "UsageRecord", "PullPage",
    "CountQuery", "CountedItem", "Counted",
    "LineDoc", "InvoiceDoc", "CreditNoteDoc", "PaymentDoc", "DocumentRef", "PushStatus",
    "PushOutcome", "WebhookRequest", "PaymentEventKind", "PaymentEvent",
    "ChargeRequest", "ChargeStatus", "ChargeOutcome", "RefundRequest", "RefundOutcome",
    "ExternalDocument",
]


class _Frozen(BaseModel):
    # defer_build: each record's validator is built when the record is first used, not when
    # `import hub` runs (building all of them was most of the CLI's start-up).
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True,
                              defer_build=True)


# ------------------------------------------------------------------------------ pulled facts
class Record(_Frozen):
    """Something a connector found at its source. ``external_id`` is the source's own id."""

    external_id: str
    deleted: bool = Field(False, description="the source says this item no longer exists")


class OrganisationRecord(Record):
    """A customer organisation (company, client, tenant) at the source."""

    name: str
    attributes: Mapping[str, Any] = Field(default_factory=dict)


class ContactRecord(Record):
    """A person at a customer organisation; ``attributes`` feed user counters."""

    organisation_external_id: str
    name: str
    email: str | None = None
    attributes: Mapping[str, Any] = Field(default_factory=dict)


class AssetRecord(Record):
    """A managed device. ``asset_type``/``policy``/``status`` feed asset counters."""

    organisation_external_id: str
    name: str
    asset_type: str = "unknown"
    policy: str | None = None
    status: str = "active"
    last_seen: dt.datetime | None = None
    attributes: Mapping[str, Any] = Field(default_factory=dict)


class TimeEntryRecord(Record):
    """Time worked on a ticket; billable entries become ticket charges."""

    ticket_external_id: str
    started: dt.datetime
    hours: str = Field(description="decimal hours as a string, e.g. '1.25'")
    billable: bool = True
    description: str = ""
    rate: Money | None = None


class TicketRecord(Record):
    """A ticket with its status and, where the source gives them inline, its time entries."""

    organisation_external_id: str
    number: str
    subject: str
    status: str
    time_entries: tuple[TimeEntryRecord, ...] = ()


class UsageRecord(Record):
    """A vendor licence or usage count for one tenant and SKU over a period."""

    organisation_external_id: str
    sku: str
    description: str = ""
    quantity: str = Field(description="decimal quantity as a string")
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    unit_cost: Money | None = None


class PullPage(_Frozen):
    """One page of a pull. ``cursor`` resumes the pull; ``complete`` says nothing is left, so
    the host may mark anything it did not see in a *full* pull as deleted at the source."""

    records: tuple[Record, ...]
    cursor: str | None = None
    complete: bool = True
    full: bool = Field(True, description="True when this pull lists everything, not changes only")


# ------------------------------------------------------------------------------ counting
class CountQuery(_Frozen):
    """What a counter line asks: how many of ``kind`` at ``organisation`` match ``filters``.

    ``kind`` is ``"assets"``, ``"users"`` or ``"usage"``. ``filters`` are the line's own filters
    (e.g. ``{"asset_type": ["workstation"], "status": ["active"]}`` or
    ``{"attributes.remote_access": True}`` or ``{"sku": "M365-BP"}``).
    """

    kind: Literal["assets", "users", "usage"]
    organisation_id: int
    organisation_external_ids: Mapping[str, str] = Field(
        default_factory=dict, description="connection name -> this organisation's id there")
    filters: Mapping[str, Any] = Field(default_factory=dict)
    period_start: dt.date
    period_end: dt.date


class CountedItem(_Frozen):
    """One thing counted: kept on the invoice line as provenance."""

    ref: str = Field(description="stable id, e.g. 'asset:17' or 'ninjaone:device:4411'")
    label: str
    quantity: str = "1"


class Counted(_Frozen):
    """A counter's answer from one source."""

    source: str = Field(description="connection or plugin name that counted")
    items: tuple[CountedItem, ...] = ()

    @property
    def quantity(self):
        from decimal import Decimal

        return sum((Decimal(i.quantity) for i in self.items), Decimal(0))


# ------------------------------------------------------------------------------ documents out
class LineDoc(_Frozen):
    """One invoice or credit-note line as accounting sees it.

    When its document's ``prices_include_tax`` is set, ``unit_price`` and ``amount`` are
    tax-inclusive (as printed) and ``tax_amount`` is the tax they contain; otherwise they are
    net and ``tax_amount`` is added on top.
    """

    description: str
    quantity: str
    unit_price: Money
    amount: Money
    tax_rate: str = Field("0", description="percentage as a string, e.g. '20'")
    tax_amount: Money
    product_code: str | None = None
    line_type: str = "standard"


class InvoiceDoc(_Frozen):
    """A finalised invoice, ready to push."""

    id: int
    number: str
    organisation_id: int
    organisation_name: str
    organisation_ref: str | None = Field(None, description="existing contact id at the target")
    issue_date: dt.date
    due_date: dt.date
    currency: str
    lines: tuple[LineDoc, ...]
    subtotal: Money
    tax_total: Money
    total: Money
    reference: str | None = None
    prices_include_tax: bool = Field(
        False, description="line prices and amounts include tax (subtotal stays net)")


class CreditNoteDoc(_Frozen):
    """A finalised credit note and where it is applied."""

    id: int
    number: str
    organisation_id: int
    organisation_name: str
    organisation_ref: str | None = None
    issue_date: dt.date
    currency: str
    lines: tuple[LineDoc, ...]
    total: Money
    invoice_id: int | None = None
    invoice_number: str | None = None
    allocations: tuple[tuple[int, Money], ...] = Field(
        (), description="(invoice id, amount) pairs this credit is applied to")
    prices_include_tax: bool = Field(
        False, description="line prices and amounts include tax, as on InvoiceDoc")


class PaymentDoc(_Frozen):
    """A payment (or, with a negative amount, a refund) allocated to one invoice."""

    id: int
    organisation_id: int
    invoice_id: int | None
    invoice_number: str | None
    date: dt.date
    amount: Money
    method: str
    reference: str | None = None
    reversal_of: int | None = Field(None, description="payment id this reverses, if any")


class DocumentRef(_Frozen):
    """Which hub document, and its id at the external system."""

    kind: Literal["invoice", "credit_note", "payment"]
    id: int
    external_id: str | None = None


class PushStatus(StrEnum):
    """Outcome of pushing one document."""

    synced = "synced"            # exists at the target; external_id set
    rejected = "rejected"        # permanent: the target refused it (message says why)
    retry = "retry"              # transient: try again later (retry_after seconds if known)


class PushOutcome(_Frozen):
    """Per-document result of a push hook."""

    document_id: int
    status: PushStatus
    external_id: str | None = None
    message: str | None = None
    retry_after: float | None = None


class ExternalDocument(_Frozen):
    """A document as it stands at an external system (for reconciliation and pulls back)."""

    kind: Literal["invoice", "credit_note", "payment", "charge", "refund", "dispute"]
    external_id: str
    hub_id: int | None = None
    number: str | None = None
    organisation_ref: str | None = None
    date: dt.date | None = None
    total: Money | None = None
    status: str | None = None
    attributes: Mapping[str, Any] = Field(default_factory=dict)


# ------------------------------------------------------------------------------ payments in
class WebhookRequest(_Frozen):
    """The raw webhook as it arrived: the plugin checks its signature against ``body``."""

    connection: str
    headers: Mapping[str, str]
    body: bytes
    received_at: dt.datetime


class PaymentEventKind(StrEnum):
    """What happened at the processor, normalised."""

    payment_succeeded = "payment_succeeded"
    payment_failed = "payment_failed"
    payment_processing = "payment_processing"
    refunded = "refunded"
    refund_failed = "refund_failed"  # a refund asked of the processor failed or was canceled
    dispute_opened = "dispute_opened"
    dispute_closed = "dispute_closed"
    payment_method_updated = "payment_method_updated"
    payment_method_expiring = "payment_method_expiring"
    invoice_voided = "invoice_voided"    # the accounting system voided the invoice (object_id: its id there)
    ignored = "ignored"


class PaymentEvent(_Frozen):
    """One processor event, normalised by the plugin. ``event_id`` de-duplicates deliveries;
    ``object_id`` (charge, refund or dispute id) de-duplicates the ledger effect."""

    event_id: str
    kind: PaymentEventKind
    object_id: str
    occurred_at: dt.datetime
    invoice_id: int | None = None
    organisation_id: int | None = None
    amount: Money | None = None
    payment_object_id: str | None = Field(None, description="the charge/intent a refund or dispute is about")
    status: str | None = None
    message: str | None = None
    method: str | None = Field(None, description="how the money came, as the ledger names it "
                               "(card, bank_transfer, cash, check, direct_debit, other); "
                               "None: card, what a payment processor takes")
    reference: str | None = Field(None, description="the payment's own reference at the "
                                  "source (a bank reference, a cheque number); None: the "
                                  "object id")
    raw: Mapping[str, Any] = Field(default_factory=dict)


# ------------------------------------------------------------------------------ charges out
class ChargeRequest(_Frozen):
    """Charge a stored payment method for an invoice. ``idempotency_key`` is derived from the
    invoice and the attempt number, so a retried job never charges twice."""

    invoice_id: int
    invoice_number: str
    organisation_id: int
    amount: Money
    customer_ref: str
    payment_method_ref: str
    attempt: int
    idempotency_key: str


class ChargeStatus(StrEnum):
    """Outcome of a charge attempt."""

    succeeded = "succeeded"
    processing = "processing"
    requires_action = "requires_action"
    declined = "declined"
    retry = "retry"


class ChargeOutcome(_Frozen):
    """What the processor said about a charge."""

    status: ChargeStatus
    object_id: str | None = None
    message: str | None = None
    retry_after: float | None = None


class RefundRequest(_Frozen):
    """Refund (part of) a processor payment."""

    payment_id: int
    payment_object_id: str
    amount: Money
    idempotency_key: str
    reason: str | None = None


class RefundOutcome(_Frozen):
    """What the processor said about a refund."""

    status: Literal["succeeded", "pending", "failed"]
    object_id: str | None = None
    message: str | None = None
