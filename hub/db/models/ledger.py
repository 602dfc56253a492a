"""The ledger: transactions, payments, allocations, credit notes, pre-bills and WIP, and each
customer's billing config.

A customer's **balance** is the sum of credit transactions minus the sum of debit transactions.
An **allocation** matches part of one credit transaction (a payment, a credit note, a manual
credit) with an invoice or with an open debit transaction, so that an invoice's amount due is its
total minus its allocations, and the balance also equals unallocated credit minus everything
still due. Amounts are stored positive; a refund is a payment with a negative amount whose
ledger effect is a debit transaction.

``(processor, processor_object_id)`` is unique on :class:`Payment`: one ledger payment per
processor charge, refund or dispute, held by the database.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Any, Optional

from sqlalchemy import CheckConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

from hub.db.models._base import (json_field, money_field, quantity_field, reference_index,
                                  timestamp_field)


class Side(StrEnum):
    """Debit: the customer owes more. Credit: money or credit for the customer."""

    debit = "debit"
    credit = "credit"


class TransactionCategory(StrEnum):
    """Where a transaction came from. ``auto`` ones belong to an invoice and go with it."""

    auto = "auto"              # written when an invoice is posted; removed when it is deleted
    manual = "manual"          # added by a person; stays until a person removes it
    payment = "payment"
    refund = "refund"
    credit_note = "credit_note"


class Transaction(SQLModel, table=True):
    """A debit or credit on a customer's account."""

    __tablename__ = "ledger_transaction"
    id: Optional[int] = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    currency: str = Field(default="USD", max_length=3)
    side: Side
    category: TransactionCategory
    amount: Decimal = money_field(description="always >= 0; the side says which way")
    date: dt.date
    description: str = ""
    invoice_id: Optional[int] = Field(
        default=None, foreign_key="invoice.id", index=True,
        description="auto: the invoice it posts; manual: the invoice it refers to")
    payment_id: Optional[int] = Field(default=None, foreign_key="payment.id", index=True)
    credit_note_id: Optional[int] = Field(default=None, foreign_key="creditnote.id", index=True)
    created_at: dt.datetime = timestamp_field()


class PaymentMethod(StrEnum):
    """How the money came (seed 002: bank transfer, credit card, cash, ...)."""

    card = "card"
    bank_transfer = "bank_transfer"
    cash = "cash"
    check = "check"
    refill_card = "refill_card"
    direct_debit = "direct_debit"
    dispute = "dispute"
    other = "other"


class PaymentStatus(StrEnum):
    """A payment's state. Only ``succeeded`` payments are in the ledger."""

    processing = "processing"
    failed = "failed"
    succeeded = "succeeded"
    awaiting_original = "awaiting_original"  # a refund that arrived before its payment


class Payment(SQLModel, table=True):
    """Money received (amount > 0) or given back (amount < 0, shown as Refund)."""

    __table_args__ = (UniqueConstraint("processor", "processor_object_id",
                                       name="uq_payment_processor_object"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    currency: str = Field(default="USD", max_length=3)
    amount: Decimal = money_field()
    method: PaymentMethod = PaymentMethod.other
    status: PaymentStatus = Field(default=PaymentStatus.succeeded, index=True)
    date: dt.date
    reference: str = ""
    note: str = ""
    invoice_id: Optional[int] = Field(default=None, foreign_key="invoice.id", index=True,
                                      description="the invoice it was made for, if any")
    refund_of_id: Optional[int] = Field(default=None, foreign_key="payment.id", index=True)
    processor: Optional[str] = Field(default=None, description="connection name, e.g. 'stripe'")
    processor_object_id: Optional[str] = Field(default=None,
                                               description="charge, refund or dispute id")
    related_object_id: Optional[str] = Field(
        default=None, description="for a refund or dispute: the processor id of the payment")
    locked_at: Optional[dt.datetime] = timestamp_field(nullable=True, default_now=False)
    locked_by: Optional[str] = None
    created_at: dt.datetime = timestamp_field()


class AllocationKind(StrEnum):
    """What an allocation is: a payment paying, a credit note applied, account credit applied
    (paid from balance) or credit funding a refund."""

    payment = "payment"
    credit_note = "credit_note"
    balance = "balance"
    refund = "refund"


class Allocation(SQLModel, table=True):
    """Part of a credit transaction set against an invoice or an open debit transaction."""

    __table_args__ = (
        CheckConstraint("(invoice_id IS NULL) <> (target_transaction_id IS NULL)",
                        name="ck_allocation_one_target"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    kind: AllocationKind
    source_transaction_id: int = Field(foreign_key="ledger_transaction.id", index=True)
    invoice_id: Optional[int] = Field(default=None, foreign_key="invoice.id", index=True)
    target_transaction_id: Optional[int] = Field(default=None, foreign_key="ledger_transaction.id",
                                                 index=True)
    payment_id: Optional[int] = Field(default=None, foreign_key="payment.id", index=True)
    credit_note_id: Optional[int] = Field(default=None, foreign_key="creditnote.id", index=True)
    amount: Decimal = money_field()
    created_at: dt.datetime = timestamp_field()


class CreditNote(SQLModel, table=True):
    """A credit note: against an invoice (whole or part) or standalone; its credit is applied
    to invoices or left on the account."""

    __table_args__ = (UniqueConstraint("number", name="uq_credit_note_number"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    number: str
    currency: str = Field(default="USD", max_length=3)
    invoice_id: Optional[int] = Field(default=None, foreign_key="invoice.id", index=True)
    date: dt.date
    reason: str = ""
    subtotal: Decimal = money_field()
    tax_total: Decimal = money_field()
    total: Decimal = money_field()
    locked_at: Optional[dt.datetime] = timestamp_field(nullable=True, default_now=False)
    locked_by: Optional[str] = None
    created_at: dt.datetime = timestamp_field()


class CreditNoteLine(SQLModel, table=True):
    """A credit note line, optionally crediting one invoice line."""

    __table_args__ = (reference_index("creditnoteline", "invoice_line_id"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    credit_note_id: int = Field(foreign_key="creditnote.id", index=True)
    invoice_line_id: Optional[int] = Field(default=None, foreign_key="invoiceline.id")
    description: str
    quantity: Decimal = quantity_field(Decimal("1"))
    unit_price: Decimal = money_field()
    amount: Decimal = money_field()
    tax_rate: Decimal = quantity_field(Decimal("0"))
    tax_amount: Decimal = money_field()


class PreBill(SQLModel, table=True):
    """A stage billed up-front (seed 003); WIP is attached to it later."""

    id: Optional[int] = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    invoice_id: int = Field(foreign_key="invoice.id", index=True)
    project: str = Field(index=True)
    stage: str
    currency: str = Field(default="USD", max_length=3)
    stage_fee: Decimal = money_field()
    percent: Optional[Decimal] = quantity_field(None, nullable=True)
    amount: Decimal = money_field(description="the pre-billed net amount")
    closed_at: Optional[dt.datetime] = timestamp_field(nullable=True, default_now=False)
    created_at: dt.datetime = timestamp_field()


class WipEntry(SQLModel, table=True):
    """Work in progress on a project stage, waiting to be billed or attached to a pre-bill."""

    id: Optional[int] = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    project: str = Field(index=True)
    stage: str
    date: dt.date
    description: str = ""
    currency: str = Field(default="USD", max_length=3)
    value: Decimal = money_field()
    prebill_id: Optional[int] = Field(default=None, foreign_key="prebill.id", index=True)
    billed_value: Optional[Decimal] = money_field(None, nullable=True)
    attached_use: Optional[str] = None
    attached_at: Optional[dt.datetime] = timestamp_field(nullable=True, default_now=False)


class AccountConfig(SQLModel, table=True):
    """A customer's billing config beyond billing day and payment due (seed 002)."""

    id: Optional[int] = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", unique=True)
    blocking_days: int = 0
    deactivation_days: int = 30
    minimum_balance: Decimal = money_field()
    block_on_weekends: bool = False
    block_on_holidays: bool = False
    holiday_country: Optional[str] = None
    holiday_subdivision: Optional[str] = None
    holidays: list[Any] = json_field(list)
    reminder_days: list[Any] = json_field(list)  # empty: the company default
    blocked_at: Optional[dt.datetime] = timestamp_field(nullable=True, default_now=False)
    deactivated_at: Optional[dt.datetime] = timestamp_field(nullable=True, default_now=False)
    next_block_date: Optional[dt.date] = Field(
        default=None, description="set next block date: overrides the block date once, for "
                                  "the current unpaid invoice (seed 002)")


class AccountState(StrEnum):
    """Where the account calendar has taken the customer (seed 002)."""

    active = "active"
    blocked = "blocked"
    deactivated = "deactivated"


class AccountStateChange(SQLModel, table=True):
    """One change of an account's state, as recorded when its date came (or a payment lifted
    it). ``notified_at`` is set once the ``hub_account_state_changed`` hook was called."""

    __tablename__ = "account_state_change"
    id: Optional[int] = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    previous: AccountState
    state: AccountState
    effective_on: dt.date
    reason: str = ""
    created_at: dt.datetime = timestamp_field()
    notified_at: Optional[dt.datetime] = timestamp_field(nullable=True, default_now=False,
                                                        index=True)
