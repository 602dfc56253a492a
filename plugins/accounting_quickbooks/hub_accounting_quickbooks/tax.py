"""Hub tax rates as QuickBooks tax codes, checked before anything is pushed.

A connection maps each hub tax rate (``tax_codes = {"20" = "5"}``) or product
(``products.X.tax_code``) to a QuickBooks ``TaxCode`` Id. :func:`load_tax_plan` reads what the
company lists (TaxCode and TaxRate, one batch call, kept for a day) and a :class:`TaxPlan`
then says, per document, what cannot be pushed and why:

- a taxed line whose rate has no mapping (the message lists the codes the company has);
- a mapped code the company does not have, or has made inactive;
- a code whose rates add up to another percentage than the hub charged;
- totals QuickBooks would compute differently: it works tax out per tax code over the whole
  document (``round(Σ net × rate)``, or ``round(Σ gross × rate / (100 + rate))`` for
  tax-inclusive prices), not per line; a document whose tax differs from that would be stored
  with other totals than the hub's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterable, Mapping

from hub import Connection, CreditNoteDoc, InvoiceDoc, LineDoc, Money

__all__ = ["TaxCode", "TaxPlan", "load_tax_plan", "qbo_tax", "CATALOGUE_KEY"]

CATALOGUE_KEY = "tax_catalogue"
CATALOGUE_DAYS = 1


def _rate(value: object) -> Decimal:
    return Decimal(str(value)).normalize()


@dataclass(frozen=True)
class TaxCode:
    """A QuickBooks TaxCode as the company lists it."""

    id: str
    name: str
    active: bool
    rate: Decimal | None  # sum of its sales tax rates; None when QuickBooks decides (US AST)


def qbo_tax(lines: Iterable[tuple[Decimal, Decimal | None, str]], inclusive: bool,
            currency: str) -> Decimal:
    """Tax as QuickBooks computes it: per tax code over the document, rounded half-up to the
    currency's minor unit. ``lines`` are (line amount as the hub has it: net, or gross when
    ``inclusive``; rate; code)."""
    groups: dict[tuple[str, Decimal | None], Decimal] = {}
    for amount, rate, code in lines:
        groups[(code, rate)] = groups.get((code, rate), Decimal(0)) + amount
    total = Decimal(0)
    for (_, rate), amount in groups.items():
        if not rate:
            continue
        share = rate / (100 + rate) if inclusive else rate / 100
        total += Money(amount * share, currency).rounded().amount
    return total


class TaxPlan:
    """The connection's tax mapping checked against the company's tax codes."""

    def __init__(self, settings: Any, codes: Mapping[str, TaxCode], connection_name: str) -> None:
        self.settings = settings
        self.codes = codes
        self.connection_name = connection_name
        self.by_rate = {_rate(k): v for k, v in settings.tax_codes.items()}

    def code_for(self, line: LineDoc) -> str | None:
        """The TaxCode Id of a line: its product's, else its rate's."""
        mapping = self.settings.products.get(line.product_code or "")
        if mapping and mapping.tax_code:
            return mapping.tax_code
        return self.by_rate.get(_rate(line.tax_rate))

    def _listing(self) -> str:
        active = [f"{c.id} ({c.name}{'' if c.rate is None else f', {c.rate:f} %'})"
                  for c in self.codes.values() if c.active]
        return ", ".join(active) or "none"

    def problems(self, doc: InvoiceDoc | CreditNoteDoc) -> list[str]:
        """Why ``doc`` cannot be pushed with this mapping (empty when it can)."""
        problems: list[str] = []
        for line in doc.lines:
            rate = _rate(line.tax_rate)
            code_id = self.code_for(line)
            if code_id is None:
                if rate:
                    problems.append(
                        f"line {line.description!r} is taxed at {rate:f} % but connection "
                        f"{self.connection_name!r} maps no QuickBooks tax code to {rate:f} %: "
                        f'add tax_codes = {{"{rate:f}" = "<TaxCode Id>"}} to its settings '
                        f"(the company's codes: {self._listing()})")
                continue
            code = self.codes.get(code_id)
            if code is None or not code.active:
                what = "does not have" if code is None else "has made inactive"
                problems.append(f"line {line.description!r}: QuickBooks {what} tax code "
                                f"{code_id!r} (the company's codes: {self._listing()})")
            elif code.rate is not None and code.rate != rate:
                problems.append(f"line {line.description!r} is taxed at {rate:f} % but "
                                f"QuickBooks tax code {code_id!r} ({code.name}) is "
                                f"{code.rate:f} %: map {rate:f} % to a code of that rate")
        if problems:
            return problems
        expected = qbo_tax(((ln.amount.amount, self._known_rate(ln), self.code_for(ln) or "")
                            for ln in doc.lines), doc.prices_include_tax, doc.currency)
        hub_tax = sum((ln.tax_amount.amount for ln in doc.lines), Decimal(0))
        if all(self._known_rate(ln) is not None or not _rate(ln.tax_rate) for ln in doc.lines) \
                and expected != hub_tax:
            problems.append(f"QuickBooks would compute tax {expected:f} on {doc.number} (per tax "
                            f"code over the document) where the hub charged {hub_tax:f} (per "
                            "line): bill this organisation with tax rounded per document so "
                            "both agree")
        return problems

    def _known_rate(self, line: LineDoc) -> Decimal | None:
        code = self.codes.get(self.code_for(line) or "")
        return code.rate if code is not None else None


def _catalogue(answers: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    rates = {r["Id"]: str(r.get("RateValue", "0")) for r in
             (answers.get("rates") or {}).get("QueryResponse", {}).get("TaxRate", [])}
    codes: dict[str, dict[str, Any]] = {}
    for code in (answers.get("codes") or {}).get("QueryResponse", {}).get("TaxCode", []):
        details = (code.get("SalesTaxRateList") or {}).get("TaxRateDetail") or []
        rate: str | None = None
        if details:
            rate = str(sum((Decimal(rates.get(d["TaxRateRef"]["value"], "0")) for d in details),
                           Decimal(0)))
        elif code.get("Id") == "NON" or not code.get("Taxable", True):
            rate = "0"
        codes[code["Id"]] = {"name": code.get("Name", code["Id"]),
                             "active": code.get("Active", True), "rate": rate}
    return codes


def load_tax_plan(client: Any) -> TaxPlan:
    """The connection's :class:`TaxPlan`, reading the company's codes at most once a day."""
    connection: Connection = client.connection
    stored = connection.state.get(CATALOGUE_KEY)
    now = connection.now()
    fresh = stored and dt.datetime.fromisoformat(stored["at"]) > now - dt.timedelta(
        days=CATALOGUE_DAYS)
    if not fresh:
        answers = client.batch([{"bId": "codes", "Query": "select * from TaxCode"},
                                {"bId": "rates", "Query": "select * from TaxRate"}],
                               request_id=f"hubtax{int(now.timestamp())}")
        stored = {"at": now.isoformat(), "codes": _catalogue(answers)}
        connection.state.set(CATALOGUE_KEY, stored)
    codes = {cid: TaxCode(cid, c["name"], bool(c["active"]),
                          None if c["rate"] is None else _rate(c["rate"]))
             for cid, c in stored["codes"].items()}
    return TaxPlan(client.settings, codes, connection.name)
