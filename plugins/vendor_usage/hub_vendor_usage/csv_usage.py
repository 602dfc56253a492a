"""The CSV usage profile: a vendor's usage export read with a configured column mapping.

Many vendors have no API, only a monthly export. Each ``csv_usage`` connection names the file and
which column holds the tenant, SKU, quantity and (optionally) period and description. Rows of
another period are skipped; rows for the same tenant, SKU and period are added up. A row that
cannot be read (missing tenant or SKU, a quantity that is not a number, a bad period) refuses
the whole file with every bad line number listed: importing the rest would under-bill quietly.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from hub import PermanentError, UsageRecord

from hub_vendor_usage.settings import CsvUsageSettings

__all__ = ["read_usage_csv", "CsvProblem", "usage_records"]

MAX_LISTED_PROBLEMS = 20


@dataclass(frozen=True)
class CsvProblem:
    """One unreadable row: its line number in the file and what is wrong."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def _month_end(day: dt.date) -> dt.date:
    following = (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    return following - dt.timedelta(days=1)


def _period(text: str) -> tuple[dt.date, dt.date]:
    text = text.strip()
    if len(text) == 7:  # YYYY-MM: the whole month
        first = dt.date.fromisoformat(text + "-01")
        return first, _month_end(first)
    day = dt.date.fromisoformat(text)
    return day, day


def read_usage_csv(settings: CsvUsageSettings, period: tuple[dt.date, dt.date]
                   ) -> tuple[list[UsageRecord], list[CsvProblem]]:
    """Read the file: the usage records of ``period`` and the problems found (by line)."""
    columns = settings.columns
    path = Path(settings.path)
    if not path.exists():
        raise PermanentError(f"{settings.vendor} usage file {path} does not exist",
                             hint="export the vendor's usage report to that path, or fix `path`")
    totals: dict[tuple[str, str, dt.date], list] = {}
    problems: list[CsvProblem] = []
    with path.open(newline="", encoding=settings.encoding) as handle:
        reader = csv.DictReader(handle, delimiter=settings.delimiter)
        needed = [c for c in (columns.tenant, columns.sku, columns.quantity, columns.period,
                              columns.description) if c]
        missing = [c for c in needed if c not in (reader.fieldnames or [])]
        if missing:
            raise PermanentError(
                f"{settings.vendor} usage file {path} has no column(s) {', '.join(missing)}",
                hint=f"the header is {', '.join(reader.fieldnames or [])}; fix `columns`")
        for row in reader:
            line = reader.line_num
            tenant = (row.get(columns.tenant) or "").strip()
            sku = (row.get(columns.sku) or "").strip()
            raw_quantity = (row.get(columns.quantity) or "").strip()
            if not tenant or not sku:
                problems.append(CsvProblem(line, "tenant and SKU are required"))
                continue
            try:
                quantity = Decimal(raw_quantity)
                if not quantity.is_finite():
                    raise InvalidOperation
            except InvalidOperation:
                problems.append(CsvProblem(line, f"quantity {raw_quantity!r} is not a number"))
                continue
            if quantity < 0:  # a licence count is never negative: a typo or a credit line
                problems.append(CsvProblem(line, f"quantity {raw_quantity} is negative; a usage "
                                                 "count is 0 or more"))
                continue
            if columns.period:
                try:
                    start, end = _period(row.get(columns.period) or "")
                except ValueError:
                    problems.append(CsvProblem(
                        line, f"period {row.get(columns.period)!r} is not YYYY-MM or YYYY-MM-DD"))
                    continue
                if end < period[0] or start > period[1]:
                    continue  # another billing period's row
            else:
                start, end = period
            description = (row.get(columns.description) or "").strip() if columns.description \
                else ""
            key = (tenant, sku, start)
            if key in totals:
                totals[key][0] += quantity
            else:
                totals[key] = [quantity, end, description or f"{settings.vendor} {sku}"]
    records = [UsageRecord(external_id=f"{tenant}:{sku}", organisation_external_id=tenant,
                           sku=sku, description=description,
                           quantity=format(quantity.normalize(), "f"),
                           period_start=start, period_end=end)
               for (tenant, sku, start), (quantity, end, description) in sorted(totals.items())]
    return records, problems


def usage_records(settings: CsvUsageSettings, period: tuple[dt.date, dt.date]
                  ) -> list[UsageRecord]:
    """The file's records for ``period``, or a PermanentError listing every bad line."""
    records, problems = read_usage_csv(settings, period)
    if problems:
        listed = "; ".join(str(p) for p in problems[:MAX_LISTED_PROBLEMS])
        more = f" (and {len(problems) - MAX_LISTED_PROBLEMS} more)" \
            if len(problems) > MAX_LISTED_PROBLEMS else ""
        raise PermanentError(
            f"{settings.vendor} usage file {settings.path}: {len(problems)} bad row(s): "
            f"{listed}{more}",
            hint="fix those rows and pull again; nothing from this file was stored")
    return records
