"""Stored payment profiles: an organisation's card (or bank account) at a payment processor.

A profile is a processor customer plus one of its payment methods (Stripe: ``cus_...`` and
``pm_...``), with the card facts people see (brand, last four digits, expiry). The database
holds the rules: one profile per (connection, payment method), and at most one *default*
profile per organisation among those not detached (a partial unique index, on SQLite and
PostgreSQL alike). Detaching keeps the row (payments refer to it), it never deletes it.
"""

from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import CheckConstraint, Column, DateTime, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from hub.db.models._base import timestamp_field


class PaymentProfile(SQLModel, table=True):
    """One stored payment method of an organisation (seed 000: "Stored Payment Profile")."""

    __tablename__ = "payment_profile"
    __table_args__ = (
        UniqueConstraint("connection", "payment_method_ref", name="uq_payment_profile_method"),
        Index("uq_payment_profile_one_default", "organisation_id", unique=True,
              sqlite_where=text("is_default AND detached_at IS NULL"),
              postgresql_where=text("is_default AND detached_at IS NULL")),
        CheckConstraint("exp_month BETWEEN 1 AND 12", name="ck_payment_profile_exp_month"),
        CheckConstraint("exp_year BETWEEN 2000 AND 2200", name="ck_payment_profile_exp_year"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    connection: str = Field(description="the payments connection (hub.toml name), e.g. 'stripe'")
    customer_ref: str = Field(description="the processor's customer id, e.g. cus_...")
    payment_method_ref: str = Field(description="the processor's payment method id, e.g. pm_...")
    brand: str = Field(description="visa, mastercard, amex, us_bank_account, ...")
    last4: str = Field(max_length=4)
    exp_month: int
    exp_year: int
    is_default: bool = Field(default=False, description="the profile auto-charges use")
    auto_bill: bool = Field(default=True, description="may be charged without asking")
    reminded_for: Optional[str] = Field(
        default=None, description="'YYYY-MM' expiry the expiring-card reminder was sent for")
    detached_at: Optional[dt.datetime] = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True),
        description="when it stopped being used; None while attached")
    created_at: dt.datetime = timestamp_field()
    updated_at: dt.datetime = timestamp_field()

    @property
    def expiry(self) -> str:
        """``'MM/YYYY'`` as printed on the card."""
        return f"{self.exp_month:02d}/{self.exp_year}"
