"""Hub tax rates as Xero tax types, checked before anything is pushed.

A connection maps each hub tax rate (``tax_types = {"20" = "OUTPUT2"}``) or product
(``products.X.tax_type``) to a Xero ``TaxType``. :func:`load_tax_check` reads the
organisation's tax rates (``GET /TaxRates``, kept for a day) and :meth:`TaxCheck.problems`
says, per document, why it cannot be pushed:

- a taxed line whose rate has no tax type (the message lists the organisation's types);
- a mapped tax type the organisation does not have, or not ACTIVE;
- a tax type whose rate is not the hub's;
- a line whose tax is not what Xero works out for it.

Xero works tax out per line (``round(amount × rate)``, or ``round(amount × rate / (100 +
rate))`` when amounts include tax), as the hub does, so line by line the totals agree.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Mapping

from hub import CreditNoteDoc, InvoiceDoc, LineDoc

__all__ = ["TaxCheck", "load_tax_check", "tax_type_for", "RATES_KEY"]

RATES_KEY = "tax_rates"
RATES_DAYS = 1


def _rate(value: object) -> Decimal:
    return Decimal(str(value)).normalize()


def tax_type_for(settings: Any, line: LineDoc) -> str | None:
    """The Xero TaxType of a line: its product's, else its rate's, else the default."""
    mapping = settings.products.get(line.product_code or "")
    if mapping and mapping.tax_type:
        return mapping.tax_type
    by_rate = {_rate(k): v for k, v in settings.tax_types.items()}
    return by_rate.get(_rate(line.tax_rate)) or settings.default_tax_type


class TaxCheck:
    """The connection's tax mapping against the organisation's tax rates."""

    def __init__(self, settings: Any, rates: Mapping[str, dict[str, Any]], name: str) -> None:
        self.settings, self.rates, self.name = settings, rates, name

    def _listing(self) -> str:
        return ", ".join(f"{t} ({r['name']}, {r['rate']} %)" for t, r in sorted(self.rates.items())
                         if r["status"] == "ACTIVE") or "none"

    def problems(self, doc: InvoiceDoc | CreditNoteDoc) -> list[str]:
        """Why ``doc`` cannot be pushed with this mapping (empty when it can)."""
        problems = []
        for line in doc.lines:
            rate = _rate(line.tax_rate)
            tax_type = tax_type_for(self.settings, line)
            if tax_type is None:
                if rate:
                    problems.append(
                        f"line {line.description!r} is taxed at {rate:f} % but connection "
                        f"{self.name!r} maps no Xero tax type to {rate:f} %: add tax_types = "
                        f'{{"{rate:f}" = "<TaxType>"}} to its settings (the organisation\'s '
                        f"types: {self._listing()})")
                continue
            known = self.rates.get(tax_type)
            if known is None or known["status"] != "ACTIVE":
                problems.append(f"line {line.description!r}: Xero has no active tax type "
                                f"{tax_type!r} (the organisation's types: {self._listing()})")
            elif _rate(known["rate"]) != rate:
                problems.append(f"line {line.description!r} is taxed at {rate:f} % but Xero tax "
                                f"type {tax_type!r} ({known['name']}) is {known['rate']} %: map "
                                f"{rate:f} % to a tax type of that rate")
            else:
                share = rate / (100 + rate) if doc.prices_include_tax else rate / 100
                xero = (line.amount * share).rounded()
                if xero != line.tax_amount.rounded():
                    problems.append(f"line {line.description!r}: Xero works its tax out per line "
                                    f"as {xero.amount:f}, the hub has {line.tax_amount.amount:f}: "
                                    "bill this organisation with tax rounded per line so both "
                                    "agree")
        return problems


def load_tax_check(client: Any) -> TaxCheck:
    """The connection's :class:`TaxCheck`, reading the tax rates at most once a day."""
    connection = client.connection
    stored = connection.state.get(RATES_KEY)
    now = connection.now()
    if not stored or dt.datetime.fromisoformat(stored["at"]) <= now - dt.timedelta(days=RATES_DAYS):
        rates = {r["TaxType"]: {"name": r.get("Name", r["TaxType"]),
                                "status": r.get("Status", "ACTIVE"),
                                "rate": str(r.get("EffectiveRate", r.get("DisplayTaxRate", 0)))}
                 for r in client.get("/TaxRates").get("TaxRates", [])}
        stored = {"at": now.isoformat(), "rates": rates}
        connection.state.set(RATES_KEY, stored)
    return TaxCheck(client.settings, stored["rates"], connection.name)
