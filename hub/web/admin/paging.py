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
#: Lists count their rows up to this many and then say "more": counting every row of a large
#: table on each page view would make the page slower as the table grows.
COUNT_CAP = 2000


@dataclass
class Page:
    """Rows ``items`` of page ``page`` (1-based) out of ``total`` rows."""

    page: int
    per_page: int
    total: int
    items: list[Any] = field(default_factory=list)
    #: True when there are more than ``total`` rows (the count stopped at its cap).
    more: bool = False

    @property
    def pages(self) -> int:
        """How many pages there are (at least one; a lower bound when ``more``)."""
        return max(1, -(-self.total // self.per_page))

    @property
    def has_next(self) -> bool:
        """Whether a next page exists."""
        return self.page < self.pages or (self.more and len(self.items) == self.per_page)


def paginate(session: Session, query: Select, page: int, per_page: int = PER_PAGE, *,
             scalars: bool = False, total: int | None = None,
             cap: int | None = COUNT_CAP) -> Page:
    """Run ``query`` (already ordered) for one page and count its rows, up to ``cap`` (None:
    all), unless the caller already knows how many there are (``total``)."""
    more = False
    if total is None:
        counted = query.order_by(None)
        if cap is not None:
            counted = counted.limit(cap + 1)
        total = session.execute(select(func.count()).select_from(counted.subquery())).scalar_one()
        if cap is not None and total > cap:
            total, more = cap, True
    page = max(1, page)
    if not more:
        # A page past the end shows the last page (a link kept from when there were more rows).
        page = min(page, max(1, -(-total // per_page)))
    result = session.execute(query.offset((page - 1) * per_page).limit(per_page))
    items = list(result.scalars()) if scalars else list(result.all())
    return Page(page, per_page, total, items, more)
