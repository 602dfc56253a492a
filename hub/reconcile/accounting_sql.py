"""The SQL of the accounting section's statements, written out as text with bound parameters.

Why text and not SQLAlchemy Core: a report usually runs in a fresh process (``hub
reconcile``), where SQLAlchemy's compiled-statement cache is empty, so each Core statement is
built and compiled on first use — a few tenths of a millisecond to a millisecond each, about
five milliseconds for the statements of one report: a tenth of a 10,000-document report
(issue #21). A text statement compiles in a few hundredths of a millisecond. The statements
are small and read the columns by name; what differs between SQLite and PostgreSQL (the string
aggregate, the key's collation) is chosen here, and the reconciliation tests run every
statement on both.

Rows come back as the driver gives them: amounts as canonical text on SQLite (convert with
:func:`~hub.reconcile.reading.exact_decimal`), dates as ISO text on SQLite, statuses as their
stored words (the enums' names, which are also their values). Fixed words (statuses, kinds) are
written as SQL literals: on PostgreSQL the status columns are enum types, which a literal
converts to and a text parameter would not. The connection's name and every value that comes
from outside are bound parameters.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sqlalchemy import Date, Integer, bindparam, text
from sqlalchemy.sql.elements import TextClause

from hub.db.models import ExternalLink, JobRecord, JobStatus, OutboxEntry

if TYPE_CHECKING:
    from hub.reconcile.accounting_kinds import DocumentKind
    from hub.reconcile.core import Options

__all__ = ["AccountingSQL"]

_LINK = ExternalLink.__table__.name
_OUTBOX = OutboxEntry.__table__.name
_JOB = JobRecord.__table__.name
#: A bound parameter's name in a statement (``:name``). One pattern, compiled at import: a
#: pattern per parameter name was compiled on first use inside every report (issue #21).
_PARAMETER = re.compile(r":(\w+)")


class AccountingSQL:
    """The statements of one report for one document kind at one connection (see module
    docstring); ``dialect`` is the database's name (``sqlite`` or ``postgresql``)."""

    def __init__(self, kind: "DocumentKind", connection: str, options: "Options",
                 dialect: str) -> None:
        self.kind, self.options, self.dialect = kind, options, dialect
        self._table = kind.model.name
        # bound to every statement that names the connection or filters by organisation/date
        self._params = [bindparam("connection", connection), bindparam("kind", kind.name)]
        if options.organisation_id is not None:
            self._params.append(bindparam("organisation_id", options.organisation_id,
                                          type_=Integer()))
        if options.since is not None:
            self._params.append(bindparam("since", options.since, type_=Date()))
        if options.until is not None:
            self._params.append(bindparam("until", options.until, type_=Date()))

    # -- fragments --------------------------------------------------------------------------
    def columns(self, t: str = "t") -> str:
        """The kind's seven columns (id, number, organisation, currency, total, status, date)
        of table alias ``t``."""
        return ", ".join(c.format(t=t) for c in self.kind.sql)

    def filters(self, t: str = "t") -> str:
        """`` AND ...`` for the organisation and date window of the options (or nothing)."""
        date = self.kind.sql[6].format(t=t)
        parts = []
        if self.options.organisation_id is not None:
            parts.append(f"{t}.organisation_id = :organisation_id")
        if self.options.since is not None:
            parts.append(f"{date} >= :since")
        if self.options.until is not None:
            parts.append(f"{date} <= :until")
        return "".join(f" AND {p}" for p in parts)

    def unlinked(self, t: str = "t") -> str:
        """True for a document of table alias ``t`` with no link at this connection."""
        return (f"NOT EXISTS (SELECT 1 FROM {_LINK} l WHERE l.document_kind = :kind "
                f"AND l.document_id = {t}.id AND l.connection = :connection)")

    def _pushable(self) -> str:
        pushable = self.kind.sql_pushable.format(t="t")
        return f"{pushable} AND " if pushable else ""

    def _statement(self, sql: str, *expanding: str) -> TextClause:
        """``sql`` with the report's parameters it names bound, and ``expanding`` as lists."""
        named = set(_PARAMETER.findall(sql))
        params = [p for p in self._params if p.key in named] + [
            bindparam(name, expanding=True) for name in expanding]
        return text(sql).bindparams(*params)

    # -- the hub's stream and the missing documents ------------------------------------------
    def hub_stream(self, collate: str | None) -> TextClause:
        """The linked documents as ``(external id, total, status, currency)``, in key order:
        ``collate`` is the collation to order the key in (``C`` on a PostgreSQL database whose
        own order is not code point order, see :func:`~hub.reconcile.reading.key_collation`),
        ``None`` for the database's own."""
        sql = self.kind.sql
        order = f'l.external_id COLLATE "{collate}"' if collate else "l.external_id"
        return self._statement(
            f"SELECT l.external_id, {sql[4].format(t='t')}, {sql[5].format(t='t')}, "
            f"{sql[3].format(t='t')} FROM {_LINK} l JOIN {self._table} t "
            f"ON t.id = l.document_id WHERE l.connection = :connection "
            f"AND l.document_kind = :kind{self.filters()} ORDER BY {order}")

    def hub_stream_with_missing(self) -> TextClause:
        """:meth:`hub_stream`'s rows, then those of :meth:`missing` in one pass over the
        documents (a left join of the documents to their links instead of a join and an
        anti-join: issue #21), keyed ``None`` and sorted last. Each row is ``(external id,
        total, status, currency, id, number, organisation id, date)``; the last four are
        ``NULL`` on a linked document's row (the stream reads only the first four).

        PostgreSQL only, and for a stream that is one query: its rows are sorted whole, with
        no index to read in order, so the key is always sorted ``COLLATE "C"`` (code point
        order), which PostgreSQL sorts fastest (byte comparisons of abbreviated keys: 0.8 ms
        of 8.6 at 10,000 documents against a ``C.UTF-8`` database's own collation), and no
        question about the database's collation is needed."""
        sql = self.kind.sql
        order = 'l.external_id COLLATE "C"'
        extra = "".join(f", CASE WHEN l.external_id IS NULL THEN {sql[i].format(t='t')} END"
                        for i in (0, 1, 2, 6))
        pushable = self.kind.sql_pushable.format(t="t")
        belongs = f" AND (l.external_id IS NOT NULL OR ({pushable}))" if pushable else ""
        return self._statement(
            f"SELECT l.external_id, {sql[4].format(t='t')}, {sql[5].format(t='t')}, "
            f"{sql[3].format(t='t')}{extra} FROM {self._table} t LEFT JOIN {_LINK} l "
            f"ON l.document_id = t.id AND l.connection = :connection "
            f"AND l.document_kind = :kind WHERE 1 = 1{belongs}{self.filters()} "
            f"ORDER BY {order} NULLS LAST, t.id")

    def missing(self, by_ids: bool = False) -> TextClause:
        """Documents that should be at the other system and have no link there, as ``('',
        *columns)`` in id order (``by_ids``: only those of the list ``ids``)."""
        ids = " AND t.id IN :ids" if by_ids else ""
        return self._statement(
            f"SELECT '', {self.columns()} FROM {self._table} t WHERE {self._pushable()}"
            f"{self.unlinked()}{self.filters()}{ids} ORDER BY t.id",
            *(("ids",) if by_ids else ()))

    def missing_ids(self, chunk: int) -> TextClause:
        """One row for the next ``chunk`` ids of :meth:`missing` after ``:after``: their count,
        the last one, and all of them joined by commas."""
        joined = ("group_concat(CAST(m.id AS VARCHAR), ',')" if self.dialect == "sqlite"
                  else "string_agg(CAST(m.id AS VARCHAR), ',')")
        return self._statement(
            f"SELECT count(*), max(m.id), {joined} FROM (SELECT t.id AS id FROM {self._table} t "
            f"WHERE {self._pushable()}{self.unlinked()}{self.filters()} AND t.id > :after "
            f"ORDER BY t.id LIMIT {int(chunk)}) m")

    # -- lookups for differences --------------------------------------------------------------
    def docs_by_keys(self) -> TextClause:
        """``(external id, *columns)`` of the documents linked under the keys ``:keys``."""
        return self._statement(
            f"SELECT l.external_id, {self.columns()} FROM {_LINK} l JOIN {self._table} t "
            f"ON t.id = l.document_id WHERE l.connection = :connection "
            f"AND l.document_kind = :kind AND l.external_id IN :keys", "keys")

    def links_of_keys(self) -> TextClause:
        """``(external id, document id)`` of the links under the keys ``:keys``."""
        return self._statement(
            f"SELECT l.external_id, l.document_id FROM {_LINK} l WHERE l.connection = "
            f":connection AND l.document_kind = :kind AND l.external_id IN :keys", "keys")

    def docs_by_ids(self, unlinked: bool = False) -> TextClause:
        """The columns of the documents ``:ids`` (``unlinked``: those with no link only)."""
        condition = f" AND {self.unlinked()}" if unlinked else ""
        return self._statement(
            f"SELECT {self.columns()} FROM {self._table} t WHERE t.id IN :ids{condition}", "ids")

    def unlinked_by_numbers(self) -> TextClause | None:
        """The columns of unlinked documents numbered ``:numbers`` (``None``: the kind has no
        number)."""
        if "number" not in self.kind.model.c:
            return None
        return self._statement(
            f"SELECT {self.columns()} FROM {self._table} t WHERE t.number IN :numbers "
            f"AND {self.unlinked()}", "numbers")

    def outbox_of_docs(self) -> TextClause:
        """The push outbox rows of the documents ``:ids``, oldest generation first."""
        return self._statement(
            f"SELECT o.document_id, o.id, o.status, o.attempts, o.last_error FROM {_OUTBOX} o "
            f"WHERE o.effect = 'push' AND o.document_kind = :kind AND o.document_id IN :ids "
            f"AND o.connection = :connection ORDER BY o.document_id, o.generation", "ids")

    def failed_jobs(self) -> TextClause:
        """``(outbox id, job id)`` of the failed jobs of the outbox rows ``:ids``."""
        return self._statement(
            f"SELECT j.outbox_id, j.id FROM {_JOB} j WHERE j.outbox_id IN :ids "
            f"AND j.status = '{JobStatus.failed.name}' ORDER BY j.id", "ids")
