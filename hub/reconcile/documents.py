"""Comparing one hub document with its counterpart at another system, field by field.

Both sides are reduced to small tuples first (:class:`HubDoc`, :class:`OtherDoc`) so the hot path
of a million-document merge join compares a few Decimals and strings per pair and allocates
nothing when they agree. Statuses are compared by *class* (see :func:`status_class`), because the
systems use different words for the same state (Xero's ``AUTHORISED`` is the hub's ``unpaid``)
and because pushing invoices as drafts is a valid setting: draft and open never differ here.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import lru_cache, partial
from typing import Any, Iterable, Mapping, NamedTuple

from hub.core.money import Money, minor_unit, to_decimal
from hub.contract.records import ExternalDocument

__all__ = ["HubDoc", "OtherDoc", "other_doc", "status_class", "LineFigures", "lines_of"]

# A difference's amounts are printed in their currency's minor unit, which Babel's currency
# table gives (hub.core.money.minor_unit imports Babel and reads the table on first use): read
# here, once per process like an import, rather than inside the first report that differs.
minor_unit("USD")


class HubDoc(NamedTuple):
    """A hub document as reconciliation reads it; ``key`` is its id at the other system.

    ``raw_date`` is the date as the driver returned it (ISO text on SQLite); :attr:`date`
    converts it when needed, which is rarely: the hot path never looks at it."""

    key: str
    id: int
    number: str | None
    organisation_id: int | None
    currency: str
    total: Decimal
    status: str
    raw_date: Any

    @property
    def date(self) -> dt.date | None:
        """The document's date."""
        from hub.reconcile.reading import as_date

        return as_date(self.raw_date)


class OtherDoc(NamedTuple):
    """A document at another system, reduced from :class:`hub.contract.records.ExternalDocument`."""

    key: str
    kind: str
    hub_id: int | None
    number: str | None
    organisation_ref: str | None
    date: dt.date | None
    currency: str | None
    total: Decimal | None
    status: str | None
    lines: tuple["LineFigures", ...] | None
    attributes: Mapping[str, Any]
    external_id: str | None = None  # its id there, when ``key`` is another (a payment intent)

    @classmethod
    def of(cls, doc: ExternalDocument) -> "OtherDoc":
        """Reduce a plugin's document (``attributes["lines"]`` becomes :class:`LineFigures`)."""
        raw_lines = doc.attributes.get("lines") if doc.attributes else None
        return cls(doc.external_id, doc.kind, doc.hub_id, doc.number, doc.organisation_ref,
                   doc.date, doc.total.currency if doc.total is not None else None,
                   doc.total.amount if doc.total is not None else None, doc.status,
                   lines_of(raw_lines) if raw_lines is not None else None, doc.attributes,
                   doc.external_id)


#: Builds an :class:`OtherDoc` from one tuple of all twelve fields, in order, with no Python
#: frame (``OtherDoc(...)`` runs a generated ``__new__``): for a source that builds a million of
#: them. The tuple is not checked: it must have every field.
other_doc = partial(tuple.__new__, OtherDoc)


class LineFigures(NamedTuple):
    """The figures of one line that must agree: quantity and amount before tax."""

    quantity: Decimal
    amount: Decimal
    description: str = ""

    def same_as(self, other: "LineFigures") -> bool:
        """True when quantity and amount are equal (descriptions may be worded differently)."""
        return self.quantity == other.quantity and self.amount == other.amount


def lines_of(raw: Iterable[Mapping[str, Any]]) -> tuple[LineFigures, ...]:
    """Lines from an external document's ``attributes["lines"]``: mappings with ``quantity``
    and ``amount`` (before tax; ``line_amount`` is accepted too) as decimal text."""
    result = []
    for line in raw:
        amount = line.get("amount", line.get("line_amount"))
        result.append(LineFigures(to_decimal(str(line.get("quantity", "1"))),
                                  to_decimal(str(amount if amount is not None else "0")),
                                  str(line.get("description", ""))))
    return tuple(result)


#: Words for a document's state, on either side, mapped to the class compared.
_STATUS_CLASSES: dict[str, str] = {
    # the hub's invoice statuses
    "draft": "open", "unpaid": "open", "pending": "open", "partially_paid": "open",
    "overdue": "open", "paid": "paid", "paid_from_balance": "paid", "deleted": "void",
    # the hub's payment statuses
    "succeeded": "open", "processing": "open", "awaiting_original": "open", "failed": "void",
    # accounting systems' words (Xero and the like)
    "submitted": "open", "authorised": "open", "authorized": "open", "open": "open",
    "voided": "void", "void": "void", "cancelled": "void", "canceled": "void",
}


@lru_cache(maxsize=512)
def status_class(status: str | None) -> str:
    """``open``, ``paid`` or ``void`` for a status word from either side (case-insensitive);
    an unknown word is its own class, so it shows up rather than being guessed at."""
    if status is None:
        return "open"
    word = str(status).lower()
    return _STATUS_CLASSES.get(word, word)


def money(amount: Decimal | None, currency: str | None) -> str:
    """Human text for an amount ("120.00 USD"), or "absent"."""
    if amount is None:
        return "absent"
    return str(Money(amount, currency or "XXX"))
