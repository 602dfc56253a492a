"""Records a pull found but could not store yet, because their organisation is not mapped.

Contacts, assets and tickets need a hub organisation; the hub finds it only through
:class:`~hub.db.models.catalogue.OrganisationMapping`, never by guessing from a name. A record
whose company has no mapping yet is *held* here (its whole pulled record as JSON) and reported;
once someone maps the company, the next pull of that connection stores it. Nothing is dropped.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from hub.db.models._base import json_field, timestamp_field


class HeldRecord(SQLModel, table=True):
    """A pulled record waiting for its organisation's mapping (see module docstring)."""

    __table_args__ = (UniqueConstraint("connection", "kind", "external_id",
                                       name="uq_held_record"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    connection: str = Field(index=True)
    kind: str = Field(description="contacts, assets or tickets")
    external_id: str
    organisation_external_id: str = Field(index=True)
    record: dict[str, Any] = json_field()
    first_seen: dt.datetime = timestamp_field()
