"""The demo's closing summary: what the month produced, the leaks found, where to look next."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hub.demo.month import DemoResult
from hub.demo.sandboxes import ACCOUNTING

__all__ = ["print_summary"]


def print_summary(result: DemoResult, console: Console) -> None:
    """Print the month's figures, the reconciliation's findings and the commands to explore."""
    console.print()
    table = Table(title="The month in figures", title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("figure", justify="right")
    for month in result.months:
        table.add_row(f"invoices, {month.label}", f"{month.invoices}  ({month.total:,.2f} USD)")
    table.add_row("pre-bill", f"{result.prebill_total:,.2f} USD")
    table.add_row("invoices in the ledger", f"{result.ledger_invoices}  "
                                            f"({result.ledger_total:,.2f} USD)")
    table.add_row(f"pushed to {ACCOUNTING[result.accounting]}", f"{result.pushed.get('invoices', 0)} invoices, "
                                    f"{result.pushed.get('payments', 0)} payments")
    table.add_row("charged through Stripe", f"{result.charged}  "
                                            f"({result.charged_total:,.2f} USD)")
    table.add_row("declined", str(result.declined))
    table.add_row("webhooks received", str(result.webhooks))
    table.add_row("failed jobs", f"{result.failed_jobs}  (declined charges wait for dunning; "
                                 "`hub jobs list`)")
    at_stake = sum((d.at_stake.amount for d in result.leaks), Decimal("0"))
    table.add_row("leaks found", f"{len(result.leaks)}  ({at_stake:,.2f} USD at stake)")
    console.print(table)

    if result.leaks:
        leaks = Table(title="Reconciliation: the planted leaks", title_justify="left")
        for column in ("section", "organisation", "finding", "at stake"):
            leaks.add_column(column, justify="right" if column == "at stake" else "left")
        names = {hub_id: result.sample.organisation(number).name
                 for number, hub_id in result.organisation_ids.items()}
        for d in result.leaks[:15]:
            leaks.add_row(d.section, d.organisation or names.get(d.organisation_id, ""),
                          f"{d.document}: {d.hub_value}; {d.other_value}",
                          f"{d.at_stake.amount:,.2f}")
        console.print(leaks)
        kinds = Counter(d.kind for d in result.leaks)
        console.print("  " + ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())))

    config = result.config_path
    try:
        from pathlib import Path

        config = config.relative_to(Path.cwd())
    except ValueError:
        pass
    hub = _hub_command()
    console.print()
    console.print("[bold]Explore further[/] (the vendor sandboxes have stopped; "
                  "the hub's data stays):", markup=True)
    for command, what in (
            (f"{hub} --config {config} invoice list", "the invoices of both months"),
            (f"{hub} --config {config} reconcile time assets", "the leaks that need no vendor"),
            (f"{hub} --config {config} status", "jobs, connections and the scheduler's next run"),
            (f"{hub} --config {config} run", f"the service; API docs at {result.api_docs_url}")):
        console.print(f"  [cyan]{escape(command)}[/]  [dim]# {escape(what)}[/]", markup=True)
    _print_admin(result, console, f"{hub} --config {config} serve")


def _print_admin(result, console, serve: str) -> None:
    """The last lines: how to open the web admin on the demo data, with a demo login."""
    from hub.demo.admin_users import DEMO_PASSWORD, DEMO_USERS

    admin_url = result.api_docs_url.removesuffix("/docs") + "/admin/"
    console.print()
    console.print("[bold]Web admin[/] on the demo data:", markup=True)
    console.print(f"  [cyan]{escape(serve)}[/]  [dim]# then open {escape(admin_url)}[/]",
                  soft_wrap=True, markup=True)
    console.print(f"  log in as [bold]{escape(', '.join(DEMO_USERS))}[/] (one per role), "
                  f"password [bold]{escape(DEMO_PASSWORD)}[/]", soft_wrap=True, markup=True)


def _hub_command() -> str:
    """How the reader runs ``hub``: the path they used (e.g. ``.venv/bin/hub``) when it is not
    on their PATH, else plain ``hub``."""
    import os
    import shutil
    import sys

    invoked = sys.argv[0] if sys.argv and sys.argv[0].endswith("hub") else "hub"
    if os.path.dirname(invoked) and shutil.which("hub") != os.path.abspath(invoked):
        relative = os.path.relpath(invoked)
        return os.path.abspath(invoked) if relative.startswith("..") else relative
    return "hub"
