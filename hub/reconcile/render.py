"""The report as a person or a program reads it: a Rich table with totals, CSV, or JSON.

All three carry the same differences and the same money: amounts at stake are exact decimal
text in CSV and JSON, and the totals are sums of exactly those amounts, per currency.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from typing import Iterable, Mapping, Sequence

from rich.table import Table

from hub.reconcile.core import Difference, Totals

__all__ = ["FORMATS", "with_names", "as_table", "as_summary", "as_csv", "as_json", "COLUMNS"]

FORMATS = ("table", "csv", "json")

#: CSV columns, in order (the keys of :meth:`Difference.as_dict`).
COLUMNS = ("section", "kind", "organisation_id", "organisation", "document", "systems",
           "connection", "hub_value", "other_value", "at_stake", "currency", "cause", "fix")


def with_names(differences: Sequence[Difference], names: dict[int, str]) -> list[Difference]:
    """The differences with their organisation's name filled in."""
    return [replace(d, organisation=names.get(d.organisation_id)) if d.organisation_id else d
            for d in differences]


def _money_totals(totals: dict) -> str:
    return ", ".join(str(m) for _, m in sorted(totals.items())) or "0"


def as_table(differences: Sequence[Difference], totals: Totals, title: str) -> Table:
    """One row per difference; the footer counts them and sums the money at stake."""
    table = Table(title=title, show_footer=True, show_lines=False, expand=False)
    table.add_column("section", footer="TOTAL")
    table.add_column("organisation", footer=f"{totals.count} differences")
    table.add_column("document")
    table.add_column("systems")
    table.add_column("hub")
    table.add_column("other")
    table.add_column("at stake", justify="right", footer=_money_totals(totals.by_currency))
    table.add_column("likely cause")
    table.add_column("fix")
    for d in differences:
        organisation = (f"{d.organisation} ({d.organisation_id})" if d.organisation
                        else str(d.organisation_id or "-"))
        table.add_row(d.section, organisation, d.document, d.systems, d.hub_value,
                      d.other_value, str(d.at_stake), d.cause, d.fix or "-")
    return table


def as_summary(totals: Totals, sections: Iterable[str],
               skipped: Mapping[str, str] | None = None) -> Table:
    """Count and money at stake per section (every section run, clean ones too); a section
    that could not be checked says so, with the reason, instead of a count."""
    skipped = skipped or {}
    table = Table(title="summary", show_footer=True)
    table.add_column("section", footer="TOTAL")
    table.add_column("differences", justify="right", footer=str(totals.count))
    table.add_column("at stake", justify="right", footer=_money_totals(totals.by_currency))
    for name in sections:
        if name in skipped:
            table.add_row(name, "skipped", skipped[name])
            continue
        count, sums = totals.by_section.get(name, (0, {}))
        table.add_row(name, str(count), _money_totals(sums))
    return table


def as_csv(differences: Iterable[Difference]) -> str:
    """CSV with a header row; one row per difference."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for d in differences:
        writer.writerow(d.as_dict())
    return out.getvalue()


def as_json(differences: Sequence[Difference], totals: Totals, sections: Iterable[str],
            skipped: Mapping[str, str] | None = None) -> str:
    """``{"differences": [...], "totals": {...}, "skipped": {section: reason}}`` with exact
    decimal text for money."""
    def sums(by_currency: dict) -> dict[str, str]:
        return {c: format(m.amount, "f") for c, m in sorted(by_currency.items())}

    payload = {
        "differences": [d.as_dict() for d in differences],
        "totals": {
            "count": totals.count,
            "at_stake": sums(totals.by_currency),
            "sections": {name: {"count": totals.by_section.get(name, (0, {}))[0],
                                "at_stake": sums(totals.by_section.get(name, (0, {}))[1])}
                         for name in sections if name not in (skipped or {})},
        },
        "skipped": dict(skipped or {}),
    }
    return json.dumps(payload, indent=2)
