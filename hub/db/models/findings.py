"""Reconciliation findings kept for review: the last run's differences and the dismissals.

A finding's ``key`` names what it is about (section, kind, organisation, document, connection);
its ``figures`` hash what each side said and the money at stake. A dismissal holds for a key as
long as the figures stay the same, so the next run does not bring a dismissed finding back
unless the numbers moved.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Optional

from sqlalchemy import BigInteger, UniqueConstraint
from sqlmodel import Field, SQLModel

from hub.db.models._base import json_field, money_field, timestamp_field


class ReconcileRun(SQLModel, table=True):
    """One reconciliation run started from the web admin (or ``hub reconcile --store``)."""

    __tablename__ = "reconcile_run"
    id: Optional[int] = Field(default=None, primary_key=True)
    started_at: dt.datetime = timestamp_field()
    finished_at: Optional[dt.datetime] = timestamp_field(nullable=True, default_now=False)
    started_by: str = ""
    sections: list[Any] = json_field(list)
    finding_count: int = 0


class Finding(SQLModel, table=True):
    """One difference found by a run (a :class:`hub.reconcile.Difference`, stored)."""

    __tablename__ = "reconcile_finding"
    id: Optional[int] = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="reconcile_run.id", index=True)
    key: str = Field(max_length=64, index=True)
    figures: str = Field(max_length=64)
    section: str = Field(max_length=50)
    kind: str = Field(max_length=100)
    organisation_id: Optional[int] = Field(default=None, index=True)
    organisation: Optional[str] = None
    document: str = ""
    systems: str = ""
    connection: Optional[str] = None
    hub_value: str = ""
    other_value: str = ""
    at_stake: Decimal = money_field()
    #: ``at_stake`` in ten-thousandths, an exact integer: the queue sorts by money at stake
    #: on every database (SQLite keeps exact decimals as text, which sorts "95" above "190").
    stake_rank: int = Field(default=0, sa_type=BigInteger, index=True)
    currency: str = Field(default="USD", max_length=3)
    cause: str = ""
    fix: Optional[str] = None
    resolved_at: Optional[dt.datetime] = timestamp_field(nullable=True, default_now=False)
    resolved_by: Optional[str] = None


class FindingDismissal(SQLModel, table=True):
    """A finding someone dismissed, with why; it holds while the figures stay the same."""

    __tablename__ = "finding_dismissal"
    __table_args__ = (UniqueConstraint("key", name="uq_finding_dismissal_key"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    key: str = Field(max_length=64)
    figures: str = Field(max_length=64)
    reason: str
    dismissed_by: str
    dismissed_at: dt.datetime = timestamp_field()
