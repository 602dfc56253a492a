"""Paging for the lists: every list page shows one page of rows, never the whole table."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

__all__ = ["Page", "paginate", "PER_PAGE"]

#: Rows per page on every list.
PER_PAGE = 50


@dataclass
class Page:
    """Rows ``items`` of page ``page`` (1-based) out of ``total`` rows."""

    page: int
    per_page: int
    total: int
    items: list[Any] = field(default_factory=list)

    @property
    def pages(self) -> int:
        """How many pages there are (at least one)."""
        return max(1, -(-self.total // self.per_page))


def paginate(session: Session, query: Select, page: int, per_page: int = PER_PAGE, *,
             scalars: bool = False, total: int | None = None) -> Page:
    """Run ``query`` (already ordered) for one page and count all its rows (unless the caller
    already knows how many there are: ``total``)."""
    if total is None:
        total = session.execute(select(func.count()).select_from(
            query.order_by(None).subquery())).scalar_one()
    # A page past the end shows the last page (a link kept from when there were more rows).
    page = min(max(1, page), max(1, -(-total // per_page)))
    result = session.execute(query.offset((page - 1) * per_page).limit(per_page))
    items = list(result.scalars()) if scalars else list(result.all())
    return Page(page, per_page, total, items)
