"""``hub demo``: run a sample MSP's billing month end to end on local vendor sandboxes."""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["demo", "register"]


def demo(directory: Path = typer.Option(Path("demo-data"), "--dir",
                                        help="working folder (deleted and recreated each run)"),
         organisations: int = typer.Option(50, "--organisations", "-n",
                                           help="sample organisations (at least 8)"),
         seed: int = typer.Option(2026, "--seed", help="seed of the sample MSP"),
         accounting: str = typer.Option("xero", "--accounting",
                                        help="accounting system to push to: xero or quickbooks")
         ) -> None:
    """Bill a sample MSP's month: pull, preview, confirm, push to Xero (or QuickBooks Online
    with --accounting quickbooks), charge through Stripe, webhooks back, reconcile.

    Runs on SQLite and the in-process job queue in DIR. With HUB_DATABASE_URL and
    HUB_BROKER_URL set it uses that PostgreSQL database (its hub tables are dropped first: point
    it at a database the demo may wipe) and Redis, with two `hub worker` processes.
    """
    import logging

    from hub.cli.helpers import folder_target
    from hub.cli.state import console, state
    from hub.demo import run_demo
    from hub.demo.summary import print_summary

    from hub.demo.sample import MAX_ORGANISATIONS, MIN_ORGANISATIONS
    from hub.demo.sandboxes import ACCOUNTING
    from hub.errors import ValidationFailed

    if accounting not in ACCOUNTING:
        raise ValidationFailed(f"the demo cannot push to {accounting!r}",
                               hint=f"pass --accounting {' or --accounting '.join(ACCOUNTING)}")
    if organisations < MIN_ORGANISATIONS:
        raise ValidationFailed(f"the demo needs at least {MIN_ORGANISATIONS} organisations "
                               "(each of the first eight plays a part)",
                               hint=f"pass --organisations {MIN_ORGANISATIONS} or more")
    if organisations > MAX_ORGANISATIONS:
        # a sample month, not a load test: a typo such as -n 5000000 would run for hours
        raise ValidationFailed(f"the demo makes at most {MAX_ORGANISATIONS:,} organisations",
                               hint="for a larger run use bench/billing_run.py --n N")
    folder_target(directory, "--dir")  # before any sandbox starts
    if not state.debug:
        # The planted declined card fails its charge job on purpose; the summary counts it, so
        # the job runner's warning line would only interrupt the progress display.
        logging.getLogger("hub.jobs").setLevel(logging.ERROR)
    result = run_demo(directory, organisations, console=console.real(), seed=seed,
                      accounting=accounting)
    print_summary(result, console)


def register(app: typer.Typer) -> None:
    """Add ``hub demo``."""
    app.command("demo")(demo)
