"""Shared column helpers for the table modules."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, text
from sqlmodel import Field

from hub.db.types import ExactDecimal


def utcnow() -> dt.datetime:
    """Aware UTC now, for row timestamps (the billing core never reads the clock itself)."""
    return dt.datetime.now(dt.timezone.utc)


def money_field(default: Decimal | None = Decimal("0"), *, nullable: bool = False,
                description: str | None = None) -> Any:
    """An exact amount column (see :class:`hub.db.types.ExactDecimal`)."""
    return Field(default=default, sa_type=ExactDecimal(), nullable=nullable,
                 description=description)


def quantity_field(default: Decimal | None = Decimal("0"), *, nullable: bool = False) -> Any:
    """An exact quantity column (hours, device counts, licence counts)."""
    return Field(default=default, sa_type=ExactDecimal(), nullable=nullable)


def json_field(default_factory=dict) -> Any:
    """A JSON column (provenance, attributes, extra fields)."""
    return Field(default_factory=default_factory, sa_column=Column(JSON, nullable=False))


def timestamp_field(*, nullable: bool = False, default_now: bool = True, index: bool = False) -> Any:
    """An aware timestamp column."""
    return Field(default_factory=utcnow if default_now else None,
                 sa_column=Column(DateTime(timezone=True), nullable=nullable, index=index))


def reference_index(table: str, column: str) -> Index:
    """An index on a nullable reference column, of its rows that refer to something.

    Deleting a row makes the database look for rows still referring to it (the foreign key
    check, on SQLite and PostgreSQL alike); without an index on the referring column that is a
    scan of the whole referring table per deleted row, so discarding a preview of 10,000 drafts
    took seconds and grew with the square of its size. Partial (``IS NOT NULL``): most rows
    refer to nothing (an invoice replaces none, a line credits no invoice line), and they then
    cost the index nothing when inserted; an ``= ?`` look-up implies the condition on both
    databases, so the check uses it."""
    condition = text(f"{column} IS NOT NULL")
    return Index(f"ix_{table}_{column}", column, sqlite_where=condition,
                 postgresql_where=condition)
