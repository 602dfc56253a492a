"""The accounting section's hub documents that should be at the other system and have no link
there: the anti-join that finds them (read in the background, see
:func:`hub.reconcile.accounting.compare_kind`), and why each is missing, from its outbox row
and failed job."""

from __future__ import annotations

from functools import cached_property
from typing import Any, Iterable, Iterator

from hub.core.money import Money
from hub.reconcile.core import Difference
from hub.reconcile.documents import HubDoc, money
from hub.reconcile.reading import exact_decimal, stream
from hub.reconcile.accounting_kinds import BATCH

__all__ = ["MissingDocuments", "MISSING_CHUNK", "hub_doc"]

_BATCH = BATCH
#: Ids of missing documents read per query by :meth:`MissingDocuments.missing_ids`.
MISSING_CHUNK = 5_000
#: Below every id (SQLite's smallest integer): where the first chunk of ids starts.
_BEFORE_EVERY_ID = -(2 ** 63)


def hub_doc(key: str, row: Any, start: int = 0) -> HubDoc:
    """A :class:`HubDoc` keyed ``key`` from the seven columns of ``row`` from ``start`` on, as
    the driver gave them (:mod:`~hub.reconcile.accounting_sql`): the total made exact."""
    return HubDoc(key, row[start], row[start + 1], row[start + 2], row[start + 3],
                  exact_decimal(row[start + 4]), row[start + 5], row[start + 6])


class MissingDocuments:
    """The missing-documents half of :class:`~hub.reconcile.accounting_differences.
    AccountingComparer` (a mixin: it uses the comparer's ``kind``, ``options``,
    ``connection``, ``conn``, ``claimed``, ``sql``, ``_diff`` and
    ``_repush``)."""

    @cached_property
    def _outbox_of_docs(self):
        return self.sql.outbox_of_docs()

    @cached_property
    def _failed_jobs(self):
        return self.sql.failed_jobs()

    def missing_statement(self):
        """The hub documents that should be at the other system and have no link there (an
        anti-join over every document: :func:`compare_kind` starts it in the background)."""
        return self.sql.missing()

    @cached_property
    def _missing_by_ids(self):
        return self.sql.missing(by_ids=True)

    def missing_ids(self, conn) -> Iterator[list[int]]:
        """The ids of :meth:`missing_statement`'s documents, :data:`MISSING_CHUNK` per query
        and one row per chunk, so that a thread reading them on SQLite needs the GIL a few
        times per chunk, not once per document (see :class:`~hub.reconcile.reading.
        BackgroundRows`); :meth:`rows_of_ids` reads the documents."""
        chunk = self.sql.missing_ids(MISSING_CHUNK)
        after = _BEFORE_EVERY_ID
        while True:
            count, last, joined = conn.execute(chunk, {"after": after}).one()
            if count:
                yield sorted(int(i) for i in joined.split(","))
            if count < MISSING_CHUNK:
                return
            after = last

    def rows_of_ids(self, ids: Iterable[int]) -> Iterator[Any]:
        """The rows of :meth:`missing_statement` for these ids (as :meth:`missing_ids` gives
        them, in order), read :data:`BATCH` at a time."""
        wanted: list[int] = []
        for document_id in ids:
            if document_id not in self.claimed:
                wanted.append(document_id)
                if len(wanted) >= _BATCH:
                    yield from self.conn.execute(self._missing_by_ids, {"ids": wanted})
                    wanted = []
        if wanted:
            yield from self.conn.execute(self._missing_by_ids, {"ids": wanted})

    def missing(self, rows: Iterable[Any] | None = None) -> Iterator[Difference]:
        """Hub documents that should be at the other system and have no link there: ``rows``
        of :meth:`missing_statement` (read here when not given), less those found at the other
        side under another key (:attr:`claimed`)."""
        if rows is None:
            rows = stream(self.conn, self.missing_statement())
        batch: list[HubDoc] = []
        for row in rows:  # ('', id, number, ...), read by position like hub_doc's
            if row[1] in self.claimed:
                continue
            batch.append(hub_doc(row[0], row, 1))
            if len(batch) >= _BATCH:
                yield from self._missing(batch)
                batch = []
        yield from self._missing(batch)

    def _missing(self, batch: list[HubDoc]) -> Iterator[Difference]:
        if not batch:
            return
        # the latest generation's row per document (ordered by generation: last one wins)
        entries = {row.document_id: row for row in self.conn.execute(
            self._outbox_of_docs, {"ids": [hub.id for hub in batch]})}
        failed = [e.id for e in entries.values() if e.status == "failed"]
        jobs = dict(self.conn.execute(self._failed_jobs, {"ids": failed}).all()) if failed else {}
        for hub in batch:
            cause, fix = self._push_state(hub.id, entries.get(hub.id), jobs)
            yield self._diff(hub, "missing_in_accounting", money(hub.total, hub.currency),
                             "absent", Money(abs(hub.total), hub.currency), cause, fix=fix)

    def _push_state(self, document_id: int, entry: Any, jobs: dict[int, int]
                    ) -> tuple[str, str]:
        """Why a document is not at the other system, from its outbox row and failed job."""
        if entry is None:
            return (f"never queued for {self.connection} (finalised before the connection "
                    "existed?)", self._repush(document_id))
        if entry.status == "failed":
            job_id = jobs.get(entry.id)
            fix = f"hub jobs retry {job_id}" if job_id is not None else self._repush(document_id)
            return f"push failed: {entry.last_error or 'no reason recorded'}", fix
        if entry.status == "done":
            return ("push marked done but no link was recorded",
                    self._repush(document_id))
        return (f"push queued, not done yet ({entry.attempts} attempts so far"
                + (f"; last error: {entry.last_error}" if entry.last_error else "") + ")",
                "wait for the worker (`hub jobs list`)")
