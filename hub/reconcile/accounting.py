"""Section *accounting*: the hub's invoices, credit notes and payments against each accounting
connection (``hub_fetch_external_documents``).

For every accounting connection and document kind, two streams are merge-joined on the
document's id at that system:

- the hub's documents linked to it (:class:`~hub.db.models.ExternalLink`), read in key order;
- the plugin's documents, put in key order in bounded memory (:func:`sorted_stream`).

A matched pair is compared for currency, total, lines (when the plugin gives them), and status
class (void / paid / open). A plugin document the hub has no link for is either a document the
hub pushed but never recorded (its ``hub_id`` or number names an unlinked hub document), a
linked hub document outside the filters (compared anyway when it passes the organisation
filter), or something recorded only in accounting — for payments, money the ledger never saw.
Last, the hub's documents that should be in accounting and have no link are streamed and
reported missing, with the outbox's word on why and the command that pushes them again.

Cost: an agreeing pair costs a few comparisons on plain driver tuples; everything a difference
needs (the whole document, its link, outbox row, failed job) is read in batches of
:data:`_BATCH` differences, one query each, so a million documents with thousands of
differences take a few thousand round trips, not millions.

What plugins return (``ExternalDocument``): ``external_id``; ``hub_id`` and ``number`` when the
system keeps them; ``organisation_ref`` (the customer's id there, as in ``OrganisationMapping``);
``date``; ``total`` (tax included; for a payment its amount); ``status`` in the system's own
word (``AUTHORISED``, ``PAID``, ``VOIDED``, ``DELETED``, ...); optionally
``attributes["lines"]`` = ``[{"quantity": "2", "amount": "100.00", "description": ...}]`` with
amounts before tax.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from operator import itemgetter
from typing import TYPE_CHECKING, Iterable, Iterator

from sqlalchemy import select
from sqlalchemy.engine import Engine

from hub.db.models import (
    ExternalLink,
)
from hub.errors import PluginError
from hub.reconcile.core import Difference, Options, Progress
from hub.reconcile.documents import OtherDoc, status_class
from hub.reconcile.reading import (
    exact_decimal, key_order, raw_columns, read_only, stream_tuples,
)
from hub.reconcile.accounting_differences import AccountingComparer
from hub.reconcile.accounting_kinds import (
    BATCH as _BATCH, KINDS, SECTION, DocumentKind, document_filters,
)
from hub.reconcile.streams import merge_join, sorted_stream, unique_by_key

if TYPE_CHECKING:
    from hub.host.context import HubContext

__all__ = ["run", "KINDS", "DocumentKind", "compare_kind"]

log = logging.getLogger("hub.reconcile")


def run(ctx: "HubContext", options: Options, progress: Progress) -> Iterator[Difference]:
    """Every accounting connection (or ``options.connection``), every document kind."""
    for connection in ctx.connections("accounting"):
        if options.connection and connection.name != options.connection:
            continue
        for kind in KINDS.values():
            progress.start(SECTION, f"{connection.name}: {kind.label}s")
            # `since` is not passed on: accounting systems read it as "modified since" (Xero's
            # If-Modified-Since), which would make every unchanged document look gone. The
            # window is applied here, by document date, on both sides.
            documents = ctx.plugins.hook.hub_fetch_external_documents(
                connection=connection, kind=kind.name, since=None, until=options.until)
            if documents is None:
                raise PluginError(f"connection {connection.name!r} ({connection.plugin}) cannot "
                                  f"list {kind.label}s for reconciliation",
                                  hint="update its plugin, or reconcile other connections with "
                                       "--connection")
            others = (OtherDoc.of(d) for d in documents if d.kind == kind.name)
            yield from compare_kind(ctx.engine, connection.name, kind, others, options, progress)


def hub_stream(conn, engine: Engine, connection: str, kind: DocumentKind,
               options: Options) -> Iterator[tuple]:
    """The hub's documents of ``kind`` linked to ``connection``, in external-id order, as
    ``(external id, id, total, status, currency)`` tuples straight from the driver: the hot
    path of a million-document run reads, builds and converts nothing more for a document
    that agrees (the rest of a differing one is read in batches, see ``_Comparer.resolve``)."""
    model = kind.model
    columns = kind.columns()
    statement = (select(*raw_columns(ExternalLink.external_id, columns[0], columns[4],
                                     columns[5], columns[3]))
                 .join(model, model.id == ExternalLink.document_id)
                 .where(ExternalLink.connection == connection,
                        ExternalLink.document_kind == kind.name,
                        *document_filters(kind, options))
                 .order_by(key_order(ExternalLink.external_id, engine)))
    return stream_tuples(conn, statement)


def compare_kind(engine: Engine, connection: str, kind: DocumentKind,
                 others: Iterable[OtherDoc], options: Options,
                 progress: Progress, *, presorted: bool = False) -> Iterator[Difference]:
    """Reconcile the hub's documents of ``kind`` with ``others`` (see module docstring).

    ``presorted`` says ``others`` already come in key order, one per key (a table read in key
    order); otherwise they are sorted here in bounded memory and repeats are dropped.
    """
    with read_only(engine) as reader, reader.connect() as streaming, reader.connect() as conn:
        comparer = AccountingComparer(conn, streaming, reader, connection, kind, options)
        # a plugin's pages may overlap: sorted, its repeats are dropped (a presorted source
        # is trusted, and a repeat there stops the merge join loudly instead)
        ordered = others if presorted else unique_by_key(
            sorted_stream(others, key=_other_key), _other_key,
            on_duplicate=lambda d: log.warning("%s listed %s %s twice; compared once",
                                               connection, kind.label, d.key))
        pairs = merge_join(hub_stream(streaming, engine, connection, kind, options), ordered,
                           _KEY, _KEY)
        seen = 0
        absolute = kind.absolute
        strays: list[OtherDoc] = []
        unequal: list[tuple[tuple, OtherDoc | None]] = []
        for hub, other in pairs:
            seen += 1
            if seen == 1000:
                progress.advance(seen)
                seen = 0
            if hub is None:
                strays.append(other)  # looked up in batches: one round trip per batch
                if len(strays) >= _BATCH:
                    yield from comparer.strays(strays)
                    strays = []
                continue
            if other is not None:
                # the common case, inline: same total, currency and status class, no lines
                total = hub[2]
                if total.__class__ is str:  # SQLite keeps exact amounts as canonical text
                    total = Decimal(total)
                elif total.__class__ is not Decimal:
                    total = exact_decimal(total)
                other_total = other.total
                if absolute and other_total is not None:
                    total, other_total = abs(total), abs(other_total)
                if (total == other_total and hub[4] == other.currency and other.lines is None
                        and status_class(hub[3]) == status_class(other.status)):
                    continue
            unequal.append((hub, other))  # read whole and compared in batches
            if len(unequal) >= _BATCH:
                yield from comparer.resolve(unequal)
                unequal = []
        progress.advance(seen)
        yield from comparer.resolve(unequal)
        yield from comparer.strays(strays)
        yield from comparer.flush_lines()
        yield from comparer.missing()


#: Both tuples carry the key first; itemgetter is the cheapest key function there is.
_KEY = itemgetter(0)


def _other_key(doc: OtherDoc) -> str:
    return doc.key


