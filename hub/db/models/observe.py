"""What the running processes leave for operators: shared counters and heartbeats.

Counters (jobs by actor and outcome, vendor calls, webhook refusals, billing run seconds) are
added up here by every process, so ``/metrics`` on any web replica shows the whole hub's
figures, and they survive a restart (the demo's figures are still there after it ends).
Heartbeats say which worker and scheduler processes are alive (``hub status``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from sqlalchemy import Column, Float, UniqueConstraint
from sqlmodel import Field, SQLModel

from hub.db.models._base import json_field, timestamp_field


class HubCounter(SQLModel, table=True):
    """One counter series: ``name`` with its ``labels`` (sorted JSON), summed by every process."""

    __tablename__ = "hub_counter"
    __table_args__ = (UniqueConstraint("name", "labels", name="uq_hub_counter_series"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str
    labels: str = Field(description='sorted JSON object, e.g. {"actor":"pull_connection"}')
    value: float = Field(default=0.0, sa_column=Column(Float, nullable=False))
    updated_at: dt.datetime = timestamp_field()


class ProcessHeartbeat(SQLModel, table=True):
    """A long-running process (worker, scheduler, web, run) saying it is alive."""

    __tablename__ = "process_heartbeat"
    __table_args__ = (UniqueConstraint("process", name="uq_process_heartbeat_process"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    process: str = Field(description="<kind>@<host>:<pid>")
    kind: str = Field(index=True, description="worker, scheduler, web or run")
    host: str
    pid: int
    started_at: dt.datetime = timestamp_field()
    seen_at: dt.datetime = timestamp_field()
    detail: dict[str, Any] = json_field()
