"""``hub stripe ...``: run the local Stripe sandbox, and link a card to an organisation.

    hub stripe sandbox --port 12111 --webhook-url http://127.0.0.1:8765/webhooks/stripe
    hub stripe card stripe --organisation 7 --name "Acme Ltd" --payment-method pm_card_visa
    hub stripe card stripe --organisation 7 --name "Acme Ltd"      # Setup Intent for a page
"""

from __future__ import annotations

from typing import Optional

import typer

from hub import MAX_ID

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the ``stripe`` command group to ``app``."""
    group = typer.Typer(help="Stripe payments: the local sandbox and stored cards.",
                        no_args_is_help=True)

    @group.command("sandbox")
    def sandbox(host: str = "127.0.0.1",
                port: int = typer.Option(12111, min=1, max=65535, help="port to listen on"),
                api_key: str = typer.Option("sk_test_sandbox", help="the key clients must send"),
                webhook_secret: str = "whsec_sandbox",
                webhook_url: Optional[str] = typer.Option(
                    None, help="POST signed events here (the hub's /webhooks/<connection>)"),
                rate_limit: Optional[float] = typer.Option(
                    None, help="requests per second before 429 (Stripe test mode: 25)")) -> None:
        """Serve a local server that answers like Stripe (test mode) until Ctrl-C."""
        import uvicorn

        from hub_payments_stripe.sandbox import StripeSandbox, create_app

        account = StripeSandbox(api_key=api_key, webhook_secret=webhook_secret,
                                webhook_url=webhook_url, rate_limit=rate_limit)
        typer.echo(f"Stripe sandbox on http://{host}:{port} - set api_base to it, api_key "
                   f"{api_key}, webhook_secret {webhook_secret}; test cards: pm_card_visa, "
                   "pm_card_chargeDeclined, pm_card_authenticationRequired, pm_usBankAccount")
        uvicorn.run(create_app(account), host=host, port=port, log_level="warning")

    @group.command("card")
    def card(connection: str = typer.Argument(..., help="the Stripe connection's name"),
             organisation: int = typer.Option(..., min=1, max=MAX_ID,
                                              help="hub organisation id"),
             name: str = typer.Option(..., help="customer name at Stripe"),
             email: Optional[str] = None,
             payment_method: Optional[str] = typer.Option(
                 None, help="attach this payment method id; without it, start a Setup Intent")) -> None:
        """Make sure the organisation is a Stripe customer, then attach a card by id (printing
        what to store as its payment profile) or start a Setup Intent for a card page."""
        from hub import HubError, cli_connection, owns

        from hub_payments_stripe import profiles
        from hub_payments_stripe.plugin import CONNECTION_TYPE

        try:
            conn = cli_connection(connection)
            if not owns(conn, CONNECTION_TYPE):  # its settings have no Stripe key or api_base
                raise HubError(f"connection {connection!r} is a {conn.plugin} connection, not "
                               f"{CONNECTION_TYPE}",
                               hint="name a stripe connection (`hub plugins` lists them)")
            customer = profiles.ensure_customer(conn, organisation, name=name, email=email)
            if payment_method is None:
                setup_id, secret = profiles.start_setup(conn, customer, organisation)
                typer.echo(f"customer {customer}: Setup Intent {setup_id}; give the card page "
                           f"its client secret {secret}")
                return
            stored = profiles.attach_payment_method(conn, customer, payment_method)
        except HubError as exc:
            typer.echo(f"error: {exc.user_message()}", err=True)
            raise typer.Exit(1) from None
        typer.echo(f"customer {stored.customer_ref} payment method {stored.payment_method_ref}: "
                   f"{stored.brand} ending {stored.last4}, expires "
                   f"{stored.exp_month:02d}/{stored.exp_year}")

    app.add_typer(group, name="stripe")
