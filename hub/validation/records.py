"""Input models for every record a user creates or changes, shared by the CLI and the REST API.

``...Input`` models describe a new record; ``...Changes`` models describe an edit, where a field
left out (``None``) keeps its stored value. Both forbid unknown fields, so a misspelt option or
JSON key is refused rather than ignored. The services in :mod:`hub.billing` parse what they are
given through these models (:func:`hub.validation.parse`), so the CLI, the API, the demo and the
tests all meet the same rules.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hub.core.periods import Frequency
from hub.validation.fields import (
    Amount, BillingDay, CurrencyCode, Day, DocumentNumber, DueDays, Email, Id, Integer, Name, Note,
    Quantity, TaxRate, check_filters, check_line_amount,
)

__all__ = ["Strict", "Changes", "OrganisationInput", "OrganisationChanges", "ContactInput",
           "ContactChanges", "AssetInput", "AssetChanges", "ProductInput", "ProductChanges",
           "RecurringInput", "RecurringChanges", "LineInput", "LineChanges", "FutureItemInput",
           "FutureItemChanges", "GroupInput", "GroupChanges", "ContractInput",
           "ContractChanges", "TicketInput", "TicketChargeInput", "MappingChanges",
           "InvoiceLineInput", "InvoiceChanges",
           "TICKET_CHARGE_ORDERS", "ASSET_STATUSES"]

LineType = Literal["standard", "asset_counter", "user_counter", "vendor_usage"]
TICKET_CHARGE_ORDERS = ("oldest_first", "newest_first", "by_ticket")
TicketChargeOrder = Literal["oldest_first", "newest_first", "by_ticket"]
ASSET_STATUSES = ("active", "inactive", "retired")
#: Statuses a device entered by hand may have: the ones RMMs report. Counters with no status
#: filter skip the retired ones (hub.sources.count_filters), and count the rest.
AssetStatus = Literal["active", "inactive", "offline", "pending", "retired", "decommissioned",
                      "disposed", "archived"]
ProductKind = Literal["service", "labor", "hardware", "license"]


class Strict(BaseModel):
    """Unknown fields are refused; values are checked again when assigned; no text may hold a
    NUL character."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # PostgreSQL stores no NUL in a text or JSON column (SQLite does): refused here, with
        # every other rule, so both databases take the same input and refuse it the same way.
        if _holds_nul(value):
            raise ValueError("holds a NUL character (\\x00), which cannot be stored; remove it")
        return value

    def given(self) -> dict[str, Any]:
        """The fields that were set (an edit changes only these)."""
        return self.model_dump(exclude_unset=True)


def _holds_nul(value: Any) -> bool:
    """Whether ``value`` (a text, or a list or mapping of them, as filters and extra fields
    are) holds a NUL character anywhere, keys included."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_holds_nul(v) for v in value)
    return False


class Changes(Strict):
    """An edit: fields left out keep their value; only ``NULLABLE`` fields may be cleared
    with an explicit null."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _no_null_for_required(self) -> "Changes":
        for name in self.model_fields_set:
            if getattr(self, name) is None and name not in self.NULLABLE:
                raise ValueError(f"{name} cannot be null; leave it out to keep its value")
        return self


class OrganisationInput(Strict):
    """A new organisation. ``currency`` defaults to the company's (``[company] currency``)."""

    name: Name
    currency: Optional[CurrencyCode] = None
    email: Optional[Email] = None
    billing_day: BillingDay = 1
    payment_due_days: Optional[DueDays] = None
    auto_bill: bool = False
    require_invoice_group: bool = False


class OrganisationChanges(Changes):
    """Changes to an organisation."""

    NULLABLE = frozenset({"email", "payment_due_days"})
    name: Optional[Name] = None
    currency: Optional[CurrencyCode] = None
    email: Optional[Email] = None
    billing_day: Optional[BillingDay] = None
    payment_due_days: Optional[DueDays] = None
    auto_bill: Optional[bool] = None
    require_invoice_group: Optional[bool] = None


class ContactInput(Strict):
    """A new contact of an organisation."""

    organisation_id: Id
    name: Name
    email: Optional[Email] = None
    attributes: dict[str, Any] = Field(default_factory=dict)


class ContactChanges(Changes):
    """Changes to a contact."""

    NULLABLE = frozenset({"email"})
    name: Optional[Name] = None
    email: Optional[Email] = None
    attributes: Optional[dict[str, Any]] = None


class AssetInput(Strict):
    """A new managed device."""

    organisation_id: Id
    name: Name
    asset_type: Name = "workstation"
    policy: Optional[Name] = None
    status: AssetStatus = "active"


class AssetChanges(Changes):
    """Changes to a device (retiring it is its own action)."""

    NULLABLE = frozenset({"policy"})
    name: Optional[Name] = None
    asset_type: Optional[Name] = None
    policy: Optional[Name] = None
    status: Optional[AssetStatus] = None


class ProductInput(Strict):
    """A new catalogue product."""

    code: Name
    name: Name
    unit_price: Amount
    tax_rate: TaxRate = 0
    kind: ProductKind = "service"
    currency: Optional[CurrencyCode] = None
    description: str = Field("", max_length=500)


class ProductChanges(Changes):
    """Changes to a product: a new price applies to lines made from it later and, with
    ``--update-lines``, to the recurring lines that use it."""

    name: Optional[Name] = None
    unit_price: Optional[Amount] = None
    tax_rate: Optional[TaxRate] = None
    kind: Optional[ProductKind] = None
    description: Optional[str] = Field(None, max_length=500)


class RecurringInput(Strict):
    """A new recurring invoice."""

    organisation_id: Id
    service_start: Day
    name: Name = "Recurring invoice"
    frequency: Frequency = Frequency.monthly
    interval: Integer = Field(1, ge=1, le=120)
    billing_day: Optional[BillingDay] = None
    first_run: Literal["start", "next"] = "next"
    auto_bill: Optional[bool] = None
    add_pending_ticket_charges: bool = False
    ticket_status_filter: list[Name] = Field(default_factory=list)
    ticket_charge_order: TicketChargeOrder = "oldest_first"
    group_id: Optional[Id] = None
    payment_due_days: Optional[DueDays] = None
    end_date: Optional[Day] = None

    @model_validator(mode="after")
    def _ends_after_start(self) -> "RecurringInput":
        if self.end_date is not None and self.end_date < self.service_start:
            raise ValueError("end_date is before the service start; end it on or after "
                             f"{self.service_start}")
        return self


class RecurringChanges(Changes):
    """Changes to a recurring invoice; ``end_date`` ends the agreement after that day."""

    NULLABLE = frozenset({"end_date", "payment_due_days"})
    name: Optional[Name] = None
    end_date: Optional[Day] = None
    auto_bill: Optional[bool] = None
    add_pending_ticket_charges: Optional[bool] = None
    ticket_status_filter: Optional[list[Name]] = None
    ticket_charge_order: Optional[TicketChargeOrder] = None
    payment_due_days: Optional[DueDays] = None


class LineInput(Strict):
    """A new template line of a recurring invoice or contract."""

    line_type: LineType = "standard"
    description: Optional[Name] = None
    unit_price: Optional[Amount] = None
    quantity: Quantity = 1
    tax_rate: Optional[TaxRate] = None
    product_code: Optional[Name] = None
    filters: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _filters_fit(self) -> "LineInput":
        self.__dict__["filters"] = check_filters(self.line_type, self.filters)
        if self.unit_price is None and self.product_code is None:
            raise ValueError("a line needs a unit price or a catalogue product; pass --price "
                             "or --product CODE")
        if self.unit_price is not None:  # a product's price is checked where it is read
            check_line_amount(self.quantity, self.unit_price, self.tax_rate or 0)
        return self


class LineChanges(Changes):
    """Changes to a template line (a price rise, a new quantity or filter)."""

    description: Optional[Name] = None
    unit_price: Optional[Amount] = None
    quantity: Optional[Quantity] = None
    tax_rate: Optional[TaxRate] = None
    filters: Optional[dict[str, Any]] = None

    @model_validator(mode="after")
    def _amount_fits(self) -> "LineChanges":
        # Both given: checked here; one of them: against the stored other (edit_line).
        if self.quantity is not None and self.unit_price is not None:
            check_line_amount(self.quantity, self.unit_price, self.tax_rate or 0)
        return self


class FutureItemInput(Strict):
    """A debit (+) or credit (−) for the next invoice."""

    organisation_id: Id
    description: Name
    amount: Amount
    created_on: Optional[Day] = None

    @model_validator(mode="after")
    def _not_zero(self) -> "FutureItemInput":
        if not self.amount:
            raise ValueError("a future item of 0 changes nothing; give a debit (+) or credit (-)")
        return self


class FutureItemChanges(Changes):
    """Changes to a future item that no invoice has taken yet."""

    description: Optional[Name] = None
    amount: Optional[Amount] = None


class GroupInput(Strict):
    """A new invoice group, aligned to ``next_date``'s day."""

    organisation_id: Id
    description: Name
    next_date: Day
    frequency: Frequency = Frequency.monthly

    @model_validator(mode="after")
    def _day_exists_every_month(self) -> "GroupInput":
        if self.next_date.day > 28:
            raise ValueError("an invoice group aligns to a day from 1 to 28; use the 28th or "
                             "the 1st for month ends")
        return self


class GroupChanges(Changes):
    """Changes to an invoice group."""

    description: Optional[Name] = None


class ContractInput(Strict):
    """A new billing contract with its cycles."""

    organisation_id: Id
    name: Name
    start_date: Day
    cycles: Integer = Field(12, ge=1, le=600)
    frequency: Frequency = Frequency.monthly
    interval: Integer = Field(1, ge=1, le=120)
    billing_day: Optional[BillingDay] = None
    auto_charge: bool = False
    auto_sync: bool = True
    auto_send: bool = False
    refund_policy: str = Field("", max_length=500)


class ContractChanges(Changes):
    """Changes to a billing contract."""

    name: Optional[Name] = None
    auto_charge: Optional[bool] = None
    auto_sync: Optional[bool] = None
    auto_send: Optional[bool] = None
    refund_policy: Optional[str] = Field(None, max_length=500)


class TicketInput(Strict):
    """A new ticket."""

    organisation_id: Id
    number: Name
    subject: Name
    status: Name = "New"


class TicketChargeInput(Strict):
    """Time or an item on a ticket."""

    ticket_id: Id
    description: Name
    quantity: Quantity = 1
    unit_price: Amount = 0


class MappingChanges(Changes):
    """Which organisation a connector's company maps to (``None``: unmapped)."""

    NULLABLE = frozenset({"organisation_id"})
    organisation_id: Optional[Id] = None


class InvoiceLineInput(Strict):
    """An item of an invoice whose items an edit replaces (tax rate in percent)."""

    description: Name
    unit_price: Amount
    quantity: Quantity = 1
    tax_rate: TaxRate = 0

    @model_validator(mode="after")
    def _amount_fits(self) -> "InvoiceLineInput":
        check_line_amount(self.quantity, self.unit_price, self.tax_rate)
        return self


class InvoiceChanges(Changes):
    """Changes to a final invoice; which of them its status and lock allow is
    :func:`hub.core.ledger.edits.check_edit`'s rule. ``lines`` replaces all its items;
    ``extra_fields`` are merged into the stored ones."""

    note: Optional[Note] = None
    memo: Optional[Note] = None
    number: Optional[DocumentNumber] = None
    issue_date: Optional[Day] = None
    due_date: Optional[Day] = None
    period_start: Optional[Day] = None
    period_end: Optional[Day] = None
    extra_fields: Optional[dict[str, Any]] = None
    lines: Optional[list[InvoiceLineInput]] = Field(None, min_length=1)

    @model_validator(mode="after")
    def _dates_in_order(self) -> "InvoiceChanges":
        # Against the stored dates when only one of a pair is given (edit_invoice).
        if self.issue_date and self.due_date and self.due_date < self.issue_date:
            raise ValueError(f"due_date {self.due_date} is before issue_date {self.issue_date}; "
                             "the payment cannot be due before the document date")
        if self.period_start and self.period_end and self.period_end < self.period_start:
            raise ValueError(f"period_end {self.period_end} is before period_start "
                             f"{self.period_start}; a period ends on or after its start")
        return self
