"""How the CLI shows invoices and batches: Rich tables of lines with their changes, causes and
provenance, and what settled an invoice.

Every amount is written in its currency's minor unit, grouped (``1,500`` JPY, ``1,234.50`` USD,
``0.125`` KWD), never with a fixed two decimals; a unit price finer than the minor unit
(``0.0125`` USD a minute) keeps its decimals rather than being rounded away.
"""

from __future__ import annotations

from typing import Any

from hub.cli.state import Table, console
from hub.core.money import shown, shown_figure

__all__ = ["render_invoice", "render_settlement", "render_batch"]


def _money(value: Any, currency: str) -> str:
    """A table cell: the amount in ``currency``'s minor unit, or empty."""
    return "" if value is None else shown_figure(value, currency)


def render_invoice(data: dict, *, title: str | None = None, provenance: bool = False) -> None:
    """An invoice as a Rich table: every line with its change, cause and pro-rata; with
    ``provenance`` each line is followed by the items (devices, users, licences, time entries)
    that made its quantity."""
    from rich.text import Text

    table = Table(title=title or (
        f"{data['number'] or 'DRAFT #' + str(data['id'])}  {data['organisation']}  "
        f"{data['period_start'] or data['issue_date']} – {data['period_end'] or ''}  "
        f"[{data['status']}]"), title_justify="left", show_lines=False)
    for column, justify in (("Line", "left"), ("Qty", "right"), ("Unit", "right"),
                            ("Amount", "right"), ("Tax", "right"), ("Change / cause", "left")):
        table.add_column(column, justify=justify)
    currency = data["currency"]
    for line in data.get("lines", []):
        cause = line["change"] or "no change"
        if line["prorata_note"]:
            cause = (cause + "; " if cause else "") + "pro-rata " + line["prorata_note"]
        table.add_row(line["description"], f"{line['quantity'].normalize():f}",
                      _money(line["unit_price"], currency), _money(line["amount"], currency),
                      _money(line["tax_amount"], currency), cause)
        if provenance:
            for item in line.get("provenance") or []:
                quantity = item.get("quantity")
                counted = "" if quantity in (None, "") else str(quantity)
                table.add_row(Text(f"  ↳ {item.get('label') or item['ref']}", style="dim"),
                              Text(counted, style="dim"), "", "", "", Text(item["ref"], style="dim"))
    for note in (data.get("extra_fields") or {}).get("ended_lines", []):
        table.add_row(Text(note, style="dim"), "", "", "", "", "line ended")
    table.add_row(Text("Total", style="bold"), "", "",
                  Text(_money(data["total"], currency), style="bold"),
                  _money(data["tax_total"], currency), currency)
    console.print(table)


def render_settlement(currency: str, settled: dict, links: dict) -> None:
    """What settled an invoice: each payment and credit note with the amount applied to it,
    then paid, credited and due."""
    for payment in links["payments"]:
        console.print(f"  payment {payment['id']}: {_money(payment['applied'], currency)} "
                      f"applied (of {_money(payment['amount'], currency)})", highlight=False)
    for note in links["credit_notes"]:
        console.print(f"  credit note {note['number'] or note['id']}: "
                      f"{_money(note['applied'], currency)} applied", highlight=False)
    console.print("  " + "   ".join(f"{label} {shown(value, currency)}"
                                    for label, value in settled.items()), highlight=False)


def render_batch(data: dict, *, provenance: bool = False) -> None:
    """A batch: its status and every invoice with its lines (and their provenance if asked)."""
    console.print(f"Batch {data['id']} for {data['run_date']}: {data['status']}, "
                  f"{data['invoice_count']} invoice(s)")
    for note in data["notes"]:
        console.print(f"  note: {note}")
    for invoice in data["invoices"]:
        render_invoice(invoice, provenance=provenance)
