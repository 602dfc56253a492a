"""The kinds of hub document the accounting section reconciles: invoices, credit notes and
payments, with the table, columns and push conditions of each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hub.db.models import Allocation, CreditNote, Invoice, InvoiceKind, InvoiceStatus, Payment
from hub.core.money import STORAGE_PLACES
from hub.db.models.ledger import PaymentStatus

__all__ = ["DocumentKind", "KINDS", "SECTION", "BATCH"]

SECTION = "accounting"
#: Differences looked up together (lines, links, outbox rows): one query per batch.
BATCH = 500


@dataclass(frozen=True)
class DocumentKind:
    """How one kind of hub document is read: its table, columns and what should be pushed.

    The columns and conditions are SQL text (see :mod:`hub.reconcile.accounting_sql` for why),
    templates over the table's alias ``{t}``: ``sql`` is the seven columns a document is
    read as (id, number, organisation id, currency, total, status, date: the fields of
    :class:`~hub.reconcile.documents.HubDoc` after its key), ``sql_pushable`` the condition a
    document must meet to belong at the other system (empty: every document)."""

    name: str
    label: str
    model: Any  # the Core table (its name and column names)
    sql: tuple[str, str, str, str, str, str, str]
    sql_pushable: str = ""
    absolute: bool = False  # payments: a refund is negative in the hub, positive elsewhere


def _storage_units(column: str) -> str:
    """An amount as a whole number of its storage unit (10⁻⁴), compared exactly in SQL on both
    databases: SQLite keeps amounts as text (compared as text, "5" sorts after "20"), and a
    text value of at most four places, scaled and rounded, is an exact integer there."""
    return f"round(CAST({column} AS NUMERIC) * {10 ** STORAGE_PLACES})"


#: ``paid`` once the credit note's whole total is allocated (applied to invoices or funding a
#: refund), else ``open``: what Xero says (PAID / AUTHORISED). It was a hard-coded "open", so
#: every fully allocated credit note showed up as a difference (#19).
_CREDIT_NOTE_STATUS = (
    f"CASE WHEN {_storage_units('{t}.total')} > 0 AND (SELECT coalesce(sum("
    f"{_storage_units('a.amount')}), 0) FROM {Allocation.__table__.name} a "
    f"WHERE a.credit_note_id = {{t}}.id) >= {_storage_units('{t}.total')} "
    f"THEN 'paid' ELSE 'open' END")


def _words(*members: Any) -> str:
    """Enum members as a SQL list of the words stored for them (their names)."""
    return ", ".join(f"'{m.name}'" for m in members)


KINDS: dict[str, DocumentKind] = {
    "invoice": DocumentKind(
        "invoice", "invoice", Invoice.__table__,
        ("{t}.id", "{t}.number", "{t}.organisation_id", "{t}.currency", "{t}.total",
         "{t}.status", "{t}.issue_date"),
        f"{{t}}.status NOT IN ({_words(InvoiceStatus.draft, InvoiceStatus.deleted)}) "
        f"AND {{t}}.kind <> {_words(InvoiceKind.proforma)} AND {{t}}.number IS NOT NULL"),
    "credit_note": DocumentKind(
        "credit_note", "credit note", CreditNote.__table__,
        ("{t}.id", "{t}.number", "{t}.organisation_id", "{t}.currency", "{t}.total",
         _CREDIT_NOTE_STATUS, "{t}.date")),
    "payment": DocumentKind(
        "payment", "payment", Payment.__table__,
        ("{t}.id", "{t}.reference", "{t}.organisation_id", "{t}.currency", "{t}.amount",
         "{t}.status", "{t}.date"),
        f"{{t}}.status = {_words(PaymentStatus.succeeded)}", absolute=True),
}
